"""sparse_row_update_ against the coalesce + index_add reference and a dense PyTorch
computation (gradient via sparse .to_dense()); duplicates, edge sizes, every optimiser,
several steps, determinism, untouched rows, and argument errors."""
import pytest
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import enums, reference
from gru4rec_fast.ops.sparse_row_update import (SparseRowState, resolve_adapt_params,
                                                 sparse_row_update_)
from support import DEVICES

OPTIMIZERS = ["sgd", "adagrad", "rmsprop", "adam", "adadelta"]
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-11, atol=1e-12)}


def make_ids(n, M, dups, gen):
    """M ids in [0, n): 'none' distinct, 'all' one id repeated, '10pct' ~10% repeats."""
    if dups == "all":
        return torch.full((M,), int(torch.randint(n, (1,), generator=gen)), dtype=torch.long)
    ids = torch.randperm(n, generator=gen)[:M].clone()
    if dups == "10pct" and M > 1:
        k = max(1, M // 10)
        dst = torch.randperm(M, generator=gen)[:k]
        src = torch.randint(M, (k,), generator=gen)
        ids[dst] = ids[src].clone()
    return ids


def dense_step_(param, ids, grads, st, opt, lr, momentum, lmbd, eps, p1, p2):
    """The same step on whole dense tensors (dense gradient from .to_dense()), then only the
    rows in ids are kept: an independent check of the per-row maths."""
    n = param.shape[0]
    P = param.view(n, -1)
    G = torch.sparse_coo_tensor(ids.unsqueeze(0), grads.reshape(len(ids), -1), P.shape,
                                check_invariants=True).to_dense()
    mask = torch.zeros(n, dtype=torch.bool, device=param.device)
    mask[ids] = True
    g = G
    s1 = st["s1"].view(n, -1) if st["s1"].numel() else None
    s2 = st["s2"].view(n, -1) if st["s2"].numel() else None
    if opt == "sgd":
        u = g
    elif opt == "adagrad":
        a = s1 + g * g
        u = g / torch.sqrt(a + eps)
        s1[mask] = a[mask]
    elif opt == "rmsprop":
        a = p1 * s1 + (1 - p1) * g * g
        u = g / torch.sqrt(a + eps)
        s1[mask] = a[mask]
    elif opt == "adam":
        t = st["steps"] + mask.to(param.dtype)
        st["steps"].copy_(t)
        t = t.unsqueeze(1)
        m = p1 * s2 + (1 - p1) * g
        a = p2 * s1 + (1 - p2) * g * g
        u = (m / (1 - p1 ** t)) / (torch.sqrt(a / (1 - p2 ** t)) + eps)
        s1[mask], s2[mask] = a[mask], m[mask]
    else:
        a = p1 * s1 + (1 - p1) * g * g
        u = g * torch.sqrt(s2 + eps) / torch.sqrt(a + eps)
        s2n = p1 * s2 + (1 - p1) * u * u
        s1[mask], s2[mask] = a[mask], s2n[mask]
    u = u + lmbd * P
    if momentum > 0:
        V = st["v"].view(n, -1)
        vn = momentum * V - lr * u
        V[mask] = vn[mask]
        P[mask] = (P + vn)[mask]
    else:
        P[mask] = (P - lr * u)[mask]


def run_three_ways(device, dtype, opt, momentum, lmbd, n, d, M, dups, steps=3, seed=0, bias=False):
    gen = torch.Generator().manual_seed(seed)
    shape = (n,) if bias else (n, d)
    param0 = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    fused_p, ref_p, dense_p = param0.clone(), param0.clone(), param0.clone()
    fs, rs = SparseRowState(fused_p, opt, momentum), SparseRowState(ref_p, opt, momentum)
    code = enums.parse_optimizer(opt)
    p1, p2 = resolve_adapt_params(code, None)
    ds = {"s1": SparseRowState(dense_p, opt, momentum).state1.clone(),
          "s2": SparseRowState(dense_p, opt, momentum).state2.clone(),
          "v": torch.zeros_like(dense_p), "steps": torch.zeros(n, dtype=dtype, device=device)}
    touched = torch.zeros(n, dtype=torch.bool)
    lr, eps = 0.05, 1e-6
    for _ in range(steps):
        ids = make_ids(n, M, dups, gen)
        touched[ids] = True
        gshape = (M,) if bias else (M, d)
        grads = torch.randn(gshape, generator=gen, dtype=dtype).to(device)
        ids = ids.to(device)
        sparse_row_update_(fused_p, ids, grads, fs, lr, momentum=momentum, lmbd=lmbd, eps=eps)
        reference.sparse_row_update_(ref_p, ids, grads, rs, lr, momentum=momentum, lmbd=lmbd, eps=eps)
        dense_step_(dense_p, ids, grads, ds, opt, lr, momentum, lmbd, eps, p1, p2)
    return param0, fused_p, ref_p, dense_p, fs, rs, ds, touched.to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("momentum", [0.0, 0.4])
@pytest.mark.parametrize("lmbd", [0.0, 0.01])
def test_matches_reference_and_dense(device, dtype, opt, momentum, lmbd):
    for dups, M in (("10pct", 40), ("all", 25), ("none", 30)):
        p0, fp, rp, dp, fs, rs, ds, touched = run_three_ways(device, dtype, opt, momentum, lmbd,
                                                             n=60, d=37, M=M, dups=dups)
        torch.testing.assert_close(fp, rp, **TOL[dtype])
        torch.testing.assert_close(fp, dp, **TOL[dtype])
        for a, b in ((fs.state1, rs.state1), (fs.state2, rs.state2), (fs.velocity, rs.velocity),
                     (fs.step_count, rs.step_count)):
            torch.testing.assert_close(a, b, **TOL[dtype])
        if fs.state1.numel():
            torch.testing.assert_close(fs.state1, ds["s1"], **TOL[dtype])
        # Rows never in ids: bit-identical param, untouched (zero) state.
        assert torch.equal(fp[~touched], p0[~touched])
        for t in (fs.state1, fs.state2, fs.velocity):
            if t.numel():
                assert torch.equal(t[~touched], torch.zeros_like(t[~touched]))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bias_1d(device, opt, dtype):
    for dups in ("10pct", "all"):
        p0, fp, rp, dp, fs, rs, ds, touched = run_three_ways(device, dtype, opt, 0.3, 0.0, n=80,
                                                             d=1, M=50, dups=dups, bias=True)
        assert fp.shape == (80,) and fs.velocity.shape == (80,)
        torch.testing.assert_close(fp, rp, **TOL[dtype])
        torch.testing.assert_close(fp, dp, **TOL[dtype])
        assert torch.equal(fp[~touched], p0[~touched])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("d", [224, 512])
def test_wide_rows_many_ids(device, d):
    p0, fp, rp, dp, fs, rs, ds, touched = run_three_ways(device, torch.float32, "adagrad", 0.4,
                                                         0.0, n=3000, d=d, M=2208, dups="10pct",
                                                         steps=2)
    torch.testing.assert_close(fp, rp, **TOL[torch.float32])
    torch.testing.assert_close(fp, dp, **TOL[torch.float32])
    assert torch.equal(fp[~touched], p0[~touched])


@pytest.mark.parametrize("device", DEVICES)
def test_single_id_and_empty(device):
    p0, fp, rp, dp, *_ = run_three_ways(device, torch.float64, "adam", 0.0, 0.0, n=10, d=5, M=1,
                                        dups="none")
    torch.testing.assert_close(fp, dp, **TOL[torch.float64])
    param = torch.randn(10, 5, device=device)
    before = param.clone()
    st = SparseRowState(param, "adagrad", 0.5)
    sparse_row_update_(param, torch.empty(0, dtype=torch.long, device=device),
                       torch.empty(0, 5, device=device), st, 0.1, momentum=0.5)
    assert torch.equal(param, before) and not st.state1.any() and not st.velocity.any()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_deterministic_bit_identical(device, opt):
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(500, (2000,), generator=gen)  # ~4 repeats per id
    ids[:300] = 7  # and one long run
    ids = ids.to(device)
    grads = torch.randn(2000, 37, generator=gen).to(device)
    p0 = torch.randn(500, 37, generator=gen).to(device)
    results = []
    for _ in range(2):
        p = p0.clone()
        st = SparseRowState(p, opt, 0.4)
        for _ in range(2):
            sparse_row_update_(p, ids, grads, st, 0.05, momentum=0.4, lmbd=0.01)
        results.append((p, st.state1))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


@pytest.mark.parametrize("device", DEVICES)
def test_adapt_params_and_state_layout(device):
    p = torch.zeros(4, 3, device=device)
    st = SparseRowState(p, "sgd", 0.0)
    assert st.state1.numel() == st.state2.numel() == st.velocity.numel() == st.step_count.numel() == 0
    st = SparseRowState(p, "adam", 0.2)
    assert st.state1.shape == st.state2.shape == st.velocity.shape == (4, 3)
    assert st.step_count.shape == (4,)
    assert resolve_adapt_params(enums.OPT_ADAM, (0.8,)) == (0.8, 0.999)
    assert resolve_adapt_params(enums.OPT_RMSPROP, 0.5) == (0.5, 0.0)
    # Non-default rho flows through to the kernel.
    ids = torch.tensor([1, 1, 2], device=device)
    grads = torch.randn(3, 3, device=device)
    a, b = p.clone(), p.clone()
    sa, sb = SparseRowState(a, "rmsprop"), SparseRowState(b, "rmsprop")
    sparse_row_update_(a, ids, grads, sa, 0.1, adapt_params=(0.5,))
    reference.sparse_row_update_(b, ids, grads, sb, 0.1, adapt_params=(0.5,))
    torch.testing.assert_close(a, b)


def test_errors():
    C = _ext.ops()
    p = torch.zeros(10, 4)
    st = SparseRowState(p, "adagrad", 0.0)
    ids = torch.tensor([1, 2])
    g = torch.zeros(2, 4)
    with pytest.raises(RuntimeError, match=r"ids in 'ids' must be in \[0, 10\)"):
        sparse_row_update_(p, torch.tensor([1, 10]), g, st, 0.1)
    with pytest.raises(RuntimeError, match=r"must be in \[0, 10\)"):
        sparse_row_update_(p, torch.tensor([-1, 0]), g, st, 0.1)
    with pytest.raises(RuntimeError, match="'grads' is Double but 'param' is Float"):
        sparse_row_update_(p, ids, g.double(), st, 0.1)
    with pytest.raises(RuntimeError, match="'ids' must be an int64"):
        sparse_row_update_(p, ids.int(), g, st, 0.1)
    with pytest.raises(RuntimeError, match="'grads' has shape"):
        sparse_row_update_(p, ids, torch.zeros(3, 4), st, 0.1)
    with pytest.raises(RuntimeError, match="'ids' is on meta but 'param' is on cpu"):
        sparse_row_update_(p, ids.to("meta"), g, st, 0.1)
    with pytest.raises(ValueError, match="created without momentum"):
        sparse_row_update_(p, ids, g, st, 0.1, momentum=0.5)
    empty = p.new_empty(0)
    with pytest.raises(RuntimeError, match="'state1' is empty but optimizer 'adagrad' needs it"):
        C.sparse_row_update_(p, ids, g, empty, empty, empty, empty, enums.OPT_ADAGRAD, 0.1, 0.0,
                             0.0, 1e-6, 0.0, 0.0, True)
    with pytest.raises(RuntimeError, match="'step_count' is empty but optimizer 'adam'"):
        C.sparse_row_update_(p, ids, g, torch.zeros(10, 4), torch.zeros(10, 4), empty, empty,
                             enums.OPT_ADAM, 0.1, 0.0, 0.0, 1e-6, 0.9, 0.999, True)
    with pytest.raises(RuntimeError, match="'velocity' is empty but momentum > 0 needs it"):
        C.sparse_row_update_(p, ids, g, empty, empty, empty, empty, enums.OPT_SGD, 0.1, 0.5, 0.0,
                             1e-6, 0.0, 0.0, True)
    with pytest.raises(RuntimeError, match="'state1' has shape"):
        C.sparse_row_update_(p, ids, g, torch.zeros(10, 3), empty, empty, empty,
                             enums.OPT_ADAGRAD, 0.1, 0.0, 0.0, 1e-6, 0.0, 0.0, True)
    with pytest.raises(RuntimeError, match="'state1' is Double but 'param' is Float"):
        C.sparse_row_update_(p, ids, g, torch.zeros(10, 4, dtype=torch.float64), empty, empty,
                             empty, enums.OPT_ADAGRAD, 0.1, 0.0, 0.0, 1e-6, 0.0, 0.0, True)
    with pytest.raises(RuntimeError, match="unknown optimizer code 9"):
        C.sparse_row_update_(p, ids, g, empty, empty, empty, empty, 9, 0.1, 0.0, 0.0, 1e-6, 0.0,
                             0.0, True)
    with pytest.raises(TypeError, match="SparseRowState"):
        sparse_row_update_(p, ids, g, None, 0.1)
    assert not p.any() and not st.state1.any()  # nothing was written by the failed calls


def _hand_step(opt, p, g, lr, momentum, lmbd, eps, p1, p2):
    """One step on one scalar, written out with Python floats from the original's formulas:
    u is the adapted gradient of g alone; L2 is added outside: delta = lr (u + lmbd p).
    Returns (new p, new state1)."""
    import math
    if opt == "sgd":
        u, s1 = g, None
    elif opt == "adagrad":
        s1 = g * g
        u = g / math.sqrt(s1 + eps)
    elif opt == "rmsprop":
        s1 = (1 - p1) * g * g
        u = g / math.sqrt(s1 + eps)
    elif opt == "adam":
        s1 = (1 - p2) * g * g
        m = (1 - p1) * g
        u = (m / (1 - p1)) / (math.sqrt(s1 / (1 - p2)) + eps)
    else:  # adadelta
        s1 = (1 - p1) * g * g
        u = g * math.sqrt(0 + eps) / math.sqrt(s1 + eps)
    step = lr * (u + lmbd * p)
    return (p - step if momentum == 0 else p + (0 * momentum - step)), s1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("momentum", [0.0, 0.3])
def test_l2_outside_the_accumulator_hand_computed(device, opt, momentum):
    # Issue 11, item 1: with lmbd > 0 the accumulator holds g^2 (not (g + lmbd p)^2) and
    # the step is lr (u + lmbd p). A large lmbd makes the two rules differ clearly.
    lr, lmbd, eps = 0.1, 0.5, 1e-6
    p1, p2 = resolve_adapt_params(enums.parse_optimizer(opt), None)
    p0, g0 = [1.5, -2.0], [0.25, 0.75]
    want = [_hand_step(opt, p, g, lr, momentum, lmbd, eps, p1, p2) for p, g in zip(p0, g0)]
    ids = torch.tensor([0, 2], device=device)
    grads = torch.tensor([[g0[0]], [g0[1]]], dtype=torch.float64, device=device)
    for update in (sparse_row_update_, reference.sparse_row_update_):
        param = torch.tensor([[p0[0]], [9.0], [p0[1]]], dtype=torch.float64, device=device)
        st = SparseRowState(param, opt, momentum)
        update(param, ids, grads, st, lr, momentum=momentum, lmbd=lmbd, eps=eps)
        got = param[[0, 2], 0].cpu().tolist()
        assert got == pytest.approx([w[0] for w in want], rel=1e-12, abs=1e-14), update
        assert param[1, 0].item() == 9.0
        if opt != "sgd":
            assert st.state1.view(3)[[0, 2]].cpu().tolist() == pytest.approx(
                [w[1] for w in want], rel=1e-12)
    # the dense optimiser of the GRU weights follows the same rule
    from gru4rec_fast.model.optim import DenseState, dense_update_
    param = torch.tensor(p0, dtype=torch.float64)
    st = DenseState(param, opt, momentum)
    dense_update_(param, torch.tensor(g0, dtype=torch.float64), st, opt, lr, momentum=momentum,
                  lmbd=lmbd, eps=eps, adapt_params=(p1, p2))
    assert param.tolist() == pytest.approx([w[0] for w in want], rel=1e-12, abs=1e-14)


# ---- sparse_row_update_with_bias_cpu_ --------------------------------------------------
# The training loop's one-pass update of the output table and its bias (CPU only,
# csrc/cpu/sparse_row_update_cpu.cpp), through its test binding: held to the reference
# applied to the table at cat(lead_ids, ids) and to the bias at ids, and to the public CPU
# op called twice, to the bit (the loop's claim: one sort instead of two changes no
# result). Duplicates, lead rows inside and outside ids, empty and one-row inputs.
WB_LR, WB_EPS = 0.05, 1e-6


def fused_(W, gW, sw, b, gb, sb, lead, ids, lmbd):
    """The helper through its test binding (b is (n,), viewed n x 1 as the loop does)."""
    n = b.shape[0]
    p1, p2 = resolve_adapt_params(sw.optimizer, None)
    _ext.ext()._sparse_row_update_with_bias_cpu_(
        W, gW, list(sw.tensors()), b.view(n, 1), gb, list(sb.as_2d(n)), lead, ids,
        sw.optimizer, WB_LR, sw.momentum, lmbd, WB_EPS, p1, p2)


def two_calls_(update, W, gW, sw, b, gb, sb, lead, ids, lmbd):
    """`update` (the public op or the reference) on the table, then on the bias."""
    all_ids = ids if lead is None else torch.cat([lead, ids])
    # (the reference cannot reshape an empty gradient; with no ids there is nothing to do)
    if all_ids.numel():
        update(W, all_ids, gW, sw, WB_LR, momentum=sw.momentum, lmbd=lmbd, eps=WB_EPS)
    if ids.numel():
        update(b, ids, gb, sb, WB_LR, momentum=sb.momentum, lmbd=lmbd, eps=WB_EPS)


def run_with_bias(dtype, opt, momentum, lmbd, n, d, M, n_lead, dups, steps=3, seed=0):
    """Three copies of (W, b) stepped by the helper, the op twice and the reference twice."""
    gen = torch.Generator().manual_seed(seed)
    W0 = torch.randn(n, d, generator=gen, dtype=dtype)
    b0 = torch.randn(n, generator=gen, dtype=dtype)
    copies = [(W0.clone(), b0.clone()) for _ in range(3)]
    states = [(SparseRowState(W, opt, momentum), SparseRowState(b, opt, momentum)) for W, b in copies]
    for _ in range(steps):
        ids = make_ids(n, M, dups, gen)
        lead = torch.randint(n, (n_lead,), generator=gen) if n_lead else None
        gW = torch.randn(n_lead + M, d, generator=gen, dtype=dtype)
        gb = torch.randn(M, generator=gen, dtype=dtype)
        (Wf, bf), (Wo, bo), (Wr, br) = copies
        (swf, sbf), (swo, sbo), (swr, sbr) = states
        fused_(Wf, gW, swf, bf, gb, sbf, lead, ids, lmbd)
        two_calls_(sparse_row_update_, Wo, gW, swo, bo, gb, sbo, lead, ids, lmbd)
        two_calls_(reference.sparse_row_update_, Wr, gW, swr, br, gb, sbr, lead, ids, lmbd)
    return W0, b0, copies, states


def assert_bit_identical_pairs(copies, states):
    (Wf, bf), (Wo, bo), _ = copies
    assert torch.equal(Wf, Wo) and torch.equal(bf, bo)
    for tf, to in zip(states[0][0].tensors() + states[0][1].tensors(),
                      states[1][0].tensors() + states[1][1].tensors()):
        assert torch.equal(tf, to)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("momentum,lmbd", [(0.0, 0.0), (0.4, 0.01)])
@pytest.mark.parametrize("n_lead", [0, 7])
def test_matches_reference_and_the_op_called_twice(dtype, opt, momentum, lmbd, n_lead):
    W0, b0, copies, states = run_with_bias(dtype, opt, momentum, lmbd, n=300, d=13, M=120,
                                 n_lead=n_lead, dups="10pct")
    (Wf, bf), _, (Wr, br) = copies
    assert not torch.equal(Wf, W0) and not torch.equal(bf, b0)
    torch.testing.assert_close(Wf, Wr, **TOL[dtype])
    torch.testing.assert_close(bf, br, **TOL[dtype])
    for tf, tr in zip(states[0][0].tensors() + states[0][1].tensors(),
                      states[2][0].tensors() + states[2][1].tensors()):
        torch.testing.assert_close(tf, tr, **TOL[dtype])
    assert_bit_identical_pairs(copies, states)


@pytest.mark.parametrize("dups", ["none", "10pct", "all"])
@pytest.mark.parametrize("M,n_lead", [(0, 0), (0, 5), (1, 0), (1, 1), (64, 0), (64, 64)])
def test_edge_sizes_and_duplicates(dups, M, n_lead):
    W0, b0, copies, states = run_with_bias(torch.float64, "adam", 0.3, 0.01, n=80, d=5, M=M,
                                 n_lead=n_lead, dups=dups)
    (Wf, bf), _, (Wr, br) = copies
    torch.testing.assert_close(Wf, Wr, **TOL[torch.float64])
    torch.testing.assert_close(bf, br, **TOL[torch.float64])
    assert_bit_identical_pairs(copies, states)
    if M == 0:  # only lead rows (or nothing): the bias and its state stay as they were
        assert torch.equal(bf, b0)
        assert all(t.count_nonzero() == 0 for t in states[0][1].tensors())


def test_a_row_only_the_lead_touches_keeps_its_bias():
    # Row 3 is only in lead, row 5 in both: 3's bias (and Adam step count) must not move
    # even with momentum and L2, which would move it on a zero gradient.
    W = torch.randn(10, 4, dtype=torch.float64)
    b = torch.randn(10, dtype=torch.float64)
    b0 = b.clone()
    sw, sb = SparseRowState(W, "adam", 0.5), SparseRowState(b, "adam", 0.5)
    lead, ids = torch.tensor([3, 5]), torch.tensor([5, 8, 5])
    fused_(W, torch.ones(5, 4, dtype=torch.float64), sw, b, torch.ones(3, dtype=torch.float64),
           sb, lead, ids, lmbd=0.1)
    assert sb.step_count.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0]
    assert sw.step_count.tolist() == [0, 0, 0, 1, 0, 1, 0, 0, 1, 0]
    changed = (b != b0).nonzero().flatten().tolist()
    assert changed == [5, 8]


def test_gradient_order_within_a_run_is_original_position():
    # Values whose float32 sum depends on the order: the helper must sum a row's
    # gradients in original-position order (lead first), as the op called twice does.
    W = torch.zeros(4, 1)
    b = torch.zeros(4)
    sw, sb = SparseRowState(W, "sgd"), SparseRowState(b, "sgd")
    lead, ids = torch.tensor([2]), torch.tensor([2, 2])
    gW = torch.tensor([[1e8], [1.0], [-1e8]])
    fused_(W, gW, sw, b, torch.tensor([1.0, 1e8]), sb, lead, ids, lmbd=0.0)
    in_order = (gW[0] + gW[1]) + gW[2]   # 1e8 + 1 rounds to 1e8 in float32: 0
    other = (gW[0] + gW[2]) + gW[1]      # 1
    assert in_order.item() == 0.0 and other.item() == 1.0
    assert W[2].item() == 0.0
    assert b[2].item() == pytest.approx(-WB_LR * 1e8)


def test_bad_shapes_raise():
    W, b = torch.zeros(6, 3), torch.zeros(6)
    sw, sb = SparseRowState(W, "sgd"), SparseRowState(b, "sgd")
    with pytest.raises(RuntimeError, match="rows for the table"):
        fused_(W, torch.zeros(2, 3), sw, b, torch.zeros(3), sb, None, torch.tensor([0, 1, 2]), 0.0)
    with pytest.raises(RuntimeError, match="n x 1 bias"):
        fused_(W, torch.zeros(3, 3), sw, torch.zeros(5), torch.zeros(3), SparseRowState(torch.zeros(5), "sgd"),
               None, torch.tensor([0, 1, 2]), 0.0)
