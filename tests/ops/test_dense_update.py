"""The training loop's dense optimiser step (csrc/cpu/dense_update_cpu.cpp, through its
test binding), held to the bit to the public row-sparse op over ids 0..rows-1, which the
loop used before (and which tests/ops/test_sparse_row_update.py holds to the plain-PyTorch
reference): every optimiser, with and without momentum and L2, float32 and float64,
widths that are and are not multiples of the vector width, one row and one column, and
the baseline (non-AVX2) copy of the kernel."""
import os
import subprocess
import sys

import pytest
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import enums
from gru4rec_fast.ops.enums import resolve_adapt_params
from gru4rec_fast.ops.sparse_row_update import SparseRowState, sparse_row_update_

pytestmark = pytest.mark.skipif(not _ext.available(), reason="needs the compiled extension")

LR, EPS = 0.05, 1e-6
OPTIMIZERS = ["sgd", "adagrad", "rmsprop", "adam", "adadelta"]
SHAPES = [(7, 13), (16, 24), (1, 100), (5, 1), (3, 300)]


def dense_(p, g, state, lmbd):
    p1, p2 = resolve_adapt_params(state.optimizer, None)
    _ext.ext()._dense_update_cpu_(p, g, list(state.tensors()), state.optimizer, LR,
                                  state.momentum, lmbd, EPS, p1, p2)


def sparse_(p, g, state, lmbd):
    ids = torch.arange(p.shape[0])
    sparse_row_update_(p, ids, g, state, LR, momentum=state.momentum, lmbd=lmbd, eps=EPS)


def run_both(opt, dtype, shape, momentum, lmbd, steps=4, seed=0):
    """(p, state) after `steps` steps of the dense kernel and of the row-sparse op."""
    gen = torch.Generator().manual_seed(seed)
    p0 = torch.randn(shape, generator=gen, dtype=dtype)
    grads = [torch.randn(shape, generator=gen, dtype=dtype) * 10 ** (k % 3 - 1)
             for k in range(steps)]
    out = []
    for update in (dense_, sparse_):
        p = p0.clone()
        st = SparseRowState(p, opt, momentum=momentum)
        for g in grads:
            update(p, g, st, lmbd)
        out.append((p, st))
    return out


def assert_same_bits(a, b):
    (pa, sa), (pb, sb) = a, b
    assert torch.equal(pa, pb), f"params differ: max |diff| {(pa - pb).abs().max().item()}"
    for x, y in zip(sa.tensors(), sb.tensors()):
        assert torch.equal(x, y), "optimiser state differs"


@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.4])
@pytest.mark.parametrize("lmbd", [0.0, 0.01])
def test_dense_update_same_bits_as_row_update(opt, dtype, momentum, lmbd):
    for shape in SHAPES:
        dense, sparse = run_both(opt, dtype, shape, momentum, lmbd)
        assert not torch.equal(dense[0], torch.zeros(shape, dtype=dtype))
        assert_same_bits(dense, sparse)


def test_dense_update_moves_the_parameter_as_the_formula_says():
    # Adagrad by hand (not through either kernel): one step from zero state.
    p = torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64)
    g = torch.tensor([[0.5, 0.0, -4.0]], dtype=torch.float64)
    expected = p - LR * g / torch.sqrt(g * g + EPS)
    st = SparseRowState(p, "adagrad")
    dense_(p, g, st, 0.0)
    assert torch.equal(p, expected)
    assert torch.equal(st.state1, g * g)


def test_dense_update_adam_counts_steps_per_row():
    p = torch.randn(4, 9, dtype=torch.float64)
    st = SparseRowState(p, "adam")
    for _ in range(3):
        dense_(p, torch.randn(4, 9, dtype=torch.float64), st, 0.0)
    assert st.step_count.tolist() == [3.0] * 4


def test_dense_update_thread_count_changes_nothing():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run_both("adagrad", torch.float32, (600, 40), 0.4, 0.0, steps=2)[0]
        torch.set_num_threads(2)
        two = run_both("adagrad", torch.float32, (600, 40), 0.4, 0.0, steps=2)[0]
    finally:
        torch.set_num_threads(before)
    assert_same_bits(one, two)


def test_dense_update_rejects_mismatched_gradient():
    p = torch.zeros(3, 4)
    st = SparseRowState(p, "sgd")
    with pytest.raises(RuntimeError, match="same dtype and shape|one dtype and shape"):
        _ext.ext()._dense_update_cpu_(p, torch.zeros(4, 3), list(st.tensors()), st.optimizer,
                                      LR, 0.0, 0.0, EPS, 0.9, 0.999)


_BASELINE_SCRIPT = """
import sys, torch
sys.path.insert(0, {tests!r})
from ops.test_dense_update import OPTIMIZERS, SHAPES, run_both, assert_same_bits
for opt in OPTIMIZERS:
    for dtype in (torch.float32, torch.float64):
        for shape in SHAPES:
            assert_same_bits(*run_both(opt, dtype, shape, 0.4, 0.01))
print("ok")
"""


def test_dense_update_baseline_copy_same_bits():
    # GRU4REC_FAST_CPU_BASELINE is read when the extension loads: a fresh process.
    env = dict(os.environ, GRU4REC_FAST_CPU_BASELINE="1", OMP_NUM_THREADS="1")
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", _BASELINE_SCRIPT.format(tests=tests)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]
