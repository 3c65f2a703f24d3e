"""The CPU loss kernel's fused rows (csrc/cpu/fused_loss_simd_rows.h: cross-entropy +
softmax without smoothing, bpr-max + ELU, at 8 and 16 lanes) against the general row they
replace (the kernel's AVX2 copy before them), bit for bit, on the row lengths and inputs
whose handling differs between them: vector tails (N mod 8, N mod 16), the positive as
the row's max (the max over the negatives excludes it), exp underflow (wide spreads),
logQ offsets or none, bpreg 0 / 1.95, non-finite scores.

Each copy runs in a subprocess with GRU4REC_FAST_CPU_LOSS_PATH set (the kernel reads it
once). A copy the CPU lacks falls back to the next narrower one (avx512 -> avx2), so on a
CPU without AVX-512 the avx512 run repeats the avx2 one; without AVX2 every run is the
portable copy."""
import os
import pathlib
import subprocess
import sys

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]

# (loss, act, bpreg, offset, spread, positive_is_max, B, N)
CASES = [
    (loss, act, bpreg, offset, spread, pos_max, B, N)
    for loss, act, bpreg in [("cross-entropy", "softmax", 0.0), ("bpr-max", "elu-0.5", 1.95),
                             ("bpr-max", "elu-1", 0.0)]
    for offset in (False, True)
    for spread, pos_max in [(2.0, False), (40.0, False), (2.0, True)]
    for B, N in [(1, 1), (1, 2), (3, 7), (5, 8), (5, 9), (4, 15), (6, 16), (7, 17), (3, 31),
                 (9, 33), (2, 63), (3, 2049), (2, 2080)]
]

RUN = r"""
import sys, torch
from gru4rec_fast.ops.fused_loss import fused_loss_fwd_bwd
torch.set_num_threads(1)
out = []
for loss, act, bpreg, offset, spread, pos_max, B, N in CASES:
    g = torch.Generator().manual_seed(B * 100003 + N)
    s = torch.randn(B, N, generator=g) * spread
    if pos_max:
        s[torch.arange(B), torch.arange(B)] = s.max() + 1
    off = torch.log(torch.rand(N, generator=g) * 100 + 1) if offset else None
    out.append(fused_loss_fwd_bwd(s, loss, act, off, bpreg=bpreg, scale=1.0 / B))
torch.save(out, sys.argv[1])
"""


def _run(path, tmp_path, code=RUN, cases=CASES):
    env = dict(os.environ, GRU4REC_FAST_CPU_LOSS_PATH=path, PYTHONPATH=str(ROOT))
    env.pop("GRU4REC_FAST_CPU_BASELINE", None)
    dst = tmp_path / f"{path}.pt"
    proc = subprocess.run([sys.executable, "-c", f"CASES = {cases!r}\n" + code, str(dst)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc, dst


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paths")
    out = {}
    for path in ("general", "avx2", "avx512"):
        proc, dst = _run(path, tmp)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[path] = torch.load(dst)
    return out


@pytest.mark.parametrize("path", ["avx2", "avx512"])
def test_fused_rows_equal_general_row(results, path):
    bad = []
    for case, (v, g), (rv, rg) in zip(CASES, results[path], results["general"]):
        if not (torch.equal(v, rv) and torch.equal(g, rg)):
            bad.append(f"{case}: loss {v.item()!r} vs {rv.item()!r}, "
                       f"{(g != rg).sum().item()} gradient entries differ")
    assert not bad, f"{len(bad)} of {len(CASES)} cases differ:\n" + "\n".join(bad[:10])


def test_general_results_are_sane(results):
    """The comparison above means something only if the cases ran: finite losses and
    gradients, a gradient row summing to ~0 under softmax (shift invariance)."""
    for case, (v, g) in zip(CASES, results["general"]):
        assert torch.isfinite(v) and torch.isfinite(g).all(), case
        if case[0] == "cross-entropy":
            assert g.sum(1).abs().max() < 1e-5, case


NON_FINITE = r"""
import sys, torch
from gru4rec_fast.ops.fused_loss import fused_loss_fwd_bwd
out = []
for loss, act, bad, col, N in CASES:
    s = torch.randn(4, N, generator=torch.Generator().manual_seed(N))
    s[2, col] = float(bad)
    out.append(fused_loss_fwd_bwd(s, loss, act, None, bpreg=1.0, scale=0.25))
torch.save(out, sys.argv[1])
"""
NON_FINITE_CASES = [(loss, act, bad, col, N)
                    for loss, act in [("cross-entropy", "softmax"), ("bpr-max", "elu-0.5")]
                    for bad in ("nan", "inf", "-inf")
                    for col, N in [(2, 9), (8, 9), (5, 40), (35, 40)]]


@pytest.mark.parametrize("path", ["general", "avx2", "avx512"])
def test_non_finite_row_is_nan_on_every_path(path, tmp_path):
    """A non-finite score (in the vector part or the tail; -inf too, which ELU would map
    to a finite -a) makes its row's gradient and the loss NaN, the other rows finite."""
    proc, dst = _run(path, tmp_path, NON_FINITE, NON_FINITE_CASES)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for case, (v, g) in zip(NON_FINITE_CASES, torch.load(dst)):
        assert torch.isnan(v), case
        assert torch.isnan(g[2]).all() and torch.isfinite(g[[0, 1, 3]]).all(), case


def test_unknown_path_is_an_error(tmp_path):
    proc, _ = _run("sse9", tmp_path, RUN, CASES[:1])
    assert proc.returncode != 0
    assert "GRU4REC_FAST_CPU_LOSS_PATH must be one of" in proc.stderr
