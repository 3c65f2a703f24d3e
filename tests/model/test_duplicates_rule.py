"""The per-occurrence duplicate rule of benches/duplicates.py (the original's row update):
equal to the summed reference update when ids are distinct, and the documented
per-occurrence result, computed by hand, when an id repeats within a step."""
import math
import pathlib
import sys

import pytest
import torch

from gru4rec_fast.data import synthetic
from gru4rec_fast.model import GRU4Rec, backends
from gru4rec_fast.ops import reference
from gru4rec_fast.ops.sparse_row_update import SparseRowState

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benches"))
import duplicates  # noqa: E402

EPS = 1e-6


def fresh(shape, opt, momentum, seed):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(*shape, generator=g, dtype=torch.float64)
    st = SparseRowState(p, opt, momentum)
    for t in (st.state1, st.velocity):
        if t.numel():
            t.copy_(torch.rand(*shape, generator=g, dtype=torch.float64))
    return p, st


@pytest.mark.parametrize("opt", ["sgd", "adagrad", "rmsprop"])
@pytest.mark.parametrize("momentum", [0.0, 0.3])
@pytest.mark.parametrize("lmbd", [0.0, 0.01])
@pytest.mark.parametrize("shape", [(50, 4), (50,)])
def test_distinct_ids_equal_the_summed_update(opt, momentum, lmbd, shape):
    p_a, st_a = fresh(shape, opt, momentum, 7)
    p_b, st_b = fresh(shape, opt, momentum, 7)
    g = torch.Generator().manual_seed(11)
    for step in range(3):                      # several steps: the states evolve
        ids = torch.randperm(shape[0], generator=g)[:17]
        grads = torch.randn(17, *shape[1:], generator=g, dtype=torch.float64)
        reference.sparse_row_update_(p_a, ids, grads, st_a, 0.1, momentum=momentum, lmbd=lmbd)
        duplicates.per_occurrence_row_update_(p_b, ids, grads, st_b, 0.1, momentum=momentum,
                                              lmbd=lmbd)
        assert torch.equal(p_a, p_b), step
        assert torch.equal(st_a.state1, st_b.state1)
        assert torch.equal(st_a.velocity, st_b.velocity)


def two_occurrences(opt, momentum, lmbd, rule):
    """Row 2 used twice (positions 0 and 2, row 5 in between) with known state."""
    p = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, -2.0], dtype=torch.float64)
    st = SparseRowState(p, opt, momentum)
    if st.state1.numel():
        st.state1[2], st.state1[5] = 0.5, 0.25
    if momentum:
        st.velocity[2], st.velocity[5] = 0.2, -0.1
    ids = torch.tensor([2, 5, 2])
    grads = torch.tensor([0.3, 0.7, -0.4], dtype=torch.float64)
    rule(p, ids, grads, st, 0.1, momentum=momentum, lmbd=lmbd)
    return p, st


def test_adagrad_two_occurrences_by_hand():
    p, st = two_occurrences("adagrad", 0.0, 0.0, duplicates.per_occurrence_row_update_)
    a, lr, g1, g2 = 0.5, 0.1, 0.3, -0.4
    # per occurrence: each step scaled by a + its own g^2; the accumulator keeps the last
    want_p = 1.0 - lr * (g1 / math.sqrt(a + g1 ** 2 + EPS) + g2 / math.sqrt(a + g2 ** 2 + EPS))
    assert p[2].item() == pytest.approx(want_p, rel=1e-14)
    assert st.state1[2].item() == pytest.approx(a + g2 ** 2, rel=1e-14)
    # the single-occurrence row 5 is an ordinary adagrad step; untouched rows stay 0
    assert p[5].item() == pytest.approx(-2.0 - lr * 0.7 / math.sqrt(0.25 + 0.49 + EPS), rel=1e-14)
    assert st.state1[5].item() == pytest.approx(0.25 + 0.49, rel=1e-14)
    assert p[[0, 1, 3, 4]].eq(0).all() and st.state1[[0, 1, 3, 4]].eq(0).all()
    # and it differs from the summed rule: g = g1 + g2, one step, acc + g^2
    ps, sts = two_occurrences("adagrad", 0.0, 0.0, reference.sparse_row_update_)
    gs = g1 + g2
    assert ps[2].item() == pytest.approx(1.0 - lr * gs / math.sqrt(a + gs ** 2 + EPS), rel=1e-14)
    assert sts.state1[2].item() == pytest.approx(a + gs ** 2, rel=1e-14)
    assert abs(ps[2].item() - p[2].item()) > 1e-3
    assert ps[5].item() == p[5].item()


def test_rmsprop_momentum_l2_two_occurrences_by_hand():
    p, st = two_occurrences("rmsprop", 0.5, 0.01, duplicates.per_occurrence_row_update_)
    a, v, lr, rho, mom, lmbd, g1, g2 = 0.5, 0.2, 0.1, 0.9, 0.5, 0.01, 0.3, -0.4
    acc1, acc2 = rho * a + (1 - rho) * g1 ** 2, rho * a + (1 - rho) * g2 ** 2
    # L2 outside the scaling, on the parameter before the step; each occurrence's
    # velocity starts from the old one, the parameter gets both, the velocity the last
    v1 = mom * v - lr * (g1 / math.sqrt(acc1 + EPS) + lmbd * 1.0)
    v2 = mom * v - lr * (g2 / math.sqrt(acc2 + EPS) + lmbd * 1.0)
    assert p[2].item() == pytest.approx(1.0 + v1 + v2, rel=1e-14)
    assert st.velocity[2].item() == pytest.approx(v2, rel=1e-14)
    assert st.state1[2].item() == pytest.approx(acc2, rel=1e-14)


def test_last_occurrence_wins():
    ids = torch.tensor([4, 1, 4, 4, 1, 0])
    uniq, last = duplicates.last_occurrence(ids)
    assert uniq.tolist() == [0, 1, 4] and last.tolist() == [5, 4, 3]
    # reversing the occurrences changes the stored accumulator, not the parameter
    p_a, st_a = two_occurrences("adagrad", 0.0, 0.0, duplicates.per_occurrence_row_update_)
    p = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, -2.0], dtype=torch.float64)
    st = SparseRowState(p, "adagrad")
    st.state1[2], st.state1[5] = 0.5, 0.25
    duplicates.per_occurrence_row_update_(p, torch.tensor([2, 5, 2]),
                                          torch.tensor([-0.4, 0.7, 0.3], dtype=torch.float64),
                                          st, 0.1)
    assert p[2].item() == pytest.approx(p_a[2].item(), rel=1e-14)
    assert st.state1[2].item() == pytest.approx(0.5 + 0.3 ** 2, rel=1e-14)
    assert st_a.state1[2].item() == pytest.approx(0.5 + 0.4 ** 2, rel=1e-14)


def test_empty_ids_and_unsupported_optimiser():
    p, st = fresh((5, 3), "adagrad", 0.0, 1)
    before = p.clone()
    duplicates.per_occurrence_row_update_(p, torch.empty(0, dtype=torch.long),
                                          torch.empty(0, 3, dtype=torch.float64), st, 0.1)
    assert torch.equal(p, before)
    p, st = fresh((5, 3), "adam", 0.0, 1)
    with pytest.raises(NotImplementedError, match="adagrad"):
        duplicates.per_occurrence_row_update_(p, torch.tensor([1]), torch.ones(1, 3,
                                              dtype=torch.float64), st, 0.1)


def test_substitution_in_the_reference_backend():
    """Summed mode (with counting) trains exactly as the library; per-occurrence differs;
    the library's backend table is restored afterwards."""
    torch.set_num_threads(1)
    train, _ = synthetic.preset("tiny", seed=0)
    hp = dict(layers=[16], batch_size=16, n_sample=64, n_epochs=1, constrained_embedding=True)
    original = backends.BACKENDS["reference"]

    def fit(mode=None, counter=None):
        m = GRU4Rec(backend="reference", seed=3, **hp)
        if mode is None:
            return m.fit(train, verbose=False, max_steps=5)
        with duplicate_rule(mode, counter):
            assert backends.BACKENDS["reference"] is not original
            return m.fit(train, verbose=False, max_steps=5)

    duplicate_rule = duplicates.duplicate_rule
    plain = fit()
    counter = duplicates.DuplicateCounter()
    summed = fit("summed", counter)
    per_occ = fit("per-occurrence")
    assert backends.BACKENDS["reference"] is original
    assert all(torch.equal(plain.weights[k], summed.weights[k]) for k in plain.weights)
    assert not torch.equal(plain.weights["Wy"], per_occ.weights["Wy"])
    stats = counter.summary()
    assert set(stats) == {"Wy", "By"}
    ids_per_step, frac, pooled = stats["By"]
    assert ids_per_step == 16 + 64 and 0 < frac < 1 and 0 < pooled < 1
