"""fused_loss (activation + loss + gradient in one op) against the plain-PyTorch
reference, gradcheck, numerical stability, argument errors and edge cases."""
import math
import zlib

import pytest
import torch

from support import CROSS_DEVICE_TOL, CUDA_EMU, DEVICES

from gru4rec_fast.ops import enums, reference
from gru4rec_fast.ops.fused_loss import fused_loss, fused_loss_fwd_bwd

LOSSES = ["cross-entropy", "xe_logit", "bpr", "bpr-max", "top1", "top1-max"]
ACTS = ["linear", "relu", "tanh", "leaky-0.1", "elu-0.5", "selu-1.0507-1.6733", "softmax",
        "softmax_logit"]
# cross-entropy takes -log(y + 1e-24): the reference itself is NaN wherever an activation
# can give y < 0 (linear, tanh, leaky, elu, selu), so only non-negative activations pair
# with it.
CE_ACTS = {"relu", "softmax", "softmax_logit"}
SHAPES = [(1, 1), (1, 5), (7, 7), (13, 63), (80, 2128), (32, 4096)]


def _valid(loss, act):
    return loss != "cross-entropy" or act in CE_ACTS


GRID = [pytest.param(l, a, id=f"{l}-{a}") for l in LOSSES for a in ACTS if _valid(l, a)]


def _inputs(B, N, dtype, device, seed, offset, spread=2.0):
    g = torch.Generator().manual_seed(seed)
    scores = (torch.randn(B, N, generator=g, dtype=torch.float64) * spread)
    off = None
    if offset:  # logQ-like offsets: logs of positive item supports
        off = torch.log(torch.rand(N, generator=g, dtype=torch.float64) * 100 + 1)
        off = off.to(dtype).to(device)
    return scores.to(dtype).to(device), off


def _ref64(scores, loss, act, off, **kw):
    o = None if off is None else off.double()
    return reference.fused_loss_fwd_bwd(scores.double(), loss, act, o, **kw)


def _assert_close_to_oracle(fused, ref32, ref64, what, floor):
    """flash-attention's rule: fused float32 error vs the float64 oracle at most twice the
    plain float32 PyTorch error, plus a small absolute floor."""
    fused, ref32, ref64 = fused.double(), ref32.double(), ref64.double()
    assert torch.isfinite(fused).all(), f"{what}: non-finite fused result"
    err = (fused - ref64).abs().max().item() if fused.numel() else 0.0
    # a non-finite float32 reference earns no slack
    err_ref = ((ref32 - ref64).abs().nan_to_num(nan=0.0, posinf=0.0).max().item()
               if fused.numel() else 0.0)
    mag = ref64.abs().max().item() if fused.numel() else 0.0
    bound = 2 * err_ref + floor * max(1.0, mag)
    assert err <= bound, f"{what}: error {err:.3g} > bound {bound:.3g} (float32 ref error {err_ref:.3g})"


def _check(B, N, loss, act, dtype, device, seed, offset, bpreg=1.0, smoothing=0.0, spread=2.0):
    scores, off = _inputs(B, N, dtype, device, seed, offset, spread)
    kw = dict(bpreg=bpreg, smoothing=smoothing, scale=1.0 / max(B, 1))
    value, grad = fused_loss_fwd_bwd(scores, loss, act, off, **kw)
    assert value.dim() == 0 and value.dtype == dtype and value.device == scores.device
    assert grad.shape == scores.shape and grad.dtype == dtype
    v64, g64 = _ref64(scores, loss, act, off, **kw)
    if dtype == torch.float64:
        torch.testing.assert_close(value, v64, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(grad, g64, rtol=1e-9, atol=1e-12)
    else:
        v32, g32 = reference.fused_loss_fwd_bwd(scores, loss, act, off, **kw)
        _assert_close_to_oracle(value, v32, v64, "loss", 2e-6)
        _assert_close_to_oracle(grad, g32, g64, "grad", 2e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("loss,act", GRID)
def test_matches_reference_float32(loss, act, shape, device):
    B, N = shape
    # A fixed seed per case (crc32, not hash(): Python salts str hashes per process, so
    # a failure could not be reproduced).
    seed = zlib.crc32(f"{loss}|{act}|{B}x{N}".encode()) % 1000
    _check(B, N, loss, act, torch.float32, device, seed, offset=seed % 2 == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (7, 7), (13, 63)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("offset", [False, True], ids=["no_offset", "offset"])
@pytest.mark.parametrize("loss,act", GRID)
def test_matches_reference_float64(loss, act, offset, shape, device):
    B, N = shape
    _check(B, N, loss, act, torch.float64, device, 7 + B + N, offset)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (3, 8), (3, 9), (1, 2049), (3, 2049)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("offset", [False, True], ids=["no_offset", "offset"])
@pytest.mark.parametrize("loss,act,bpreg", [("cross-entropy", "softmax", 0.0),
                                            ("bpr-max", "elu-0.5", 1.95)])
def test_published_setups_odd_row_lengths(loss, act, bpreg, offset, shape, dtype, device):
    """The published setups' pairs (the CPU kernel's fused rows) at row lengths that
    end in partial vectors of 8 and 16 lanes, one-row batches included."""
    B, N = shape
    _check(B, N, loss, act, dtype, device, seed=B * 7919 + N, offset=offset, bpreg=bpreg)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 7), (13, 63), (80, 2128)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("loss,act", [("cross-entropy", "softmax"), ("cross-entropy", "relu"),
                                      ("cross-entropy", "softmax_logit"),
                                      ("xe_logit", "softmax_logit"), ("xe_logit", "elu-1")])
@pytest.mark.parametrize("offset", [False, True], ids=["no_offset", "offset"])
def test_smoothing(loss, act, shape, dtype, offset, device):
    B, N = shape
    _check(B, N, loss, act, dtype, device, 3, offset, smoothing=0.1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(1, 5), (7, 7), (13, 63), (80, 2128)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("act", ["linear", "elu-0.5", "elu-1", "softmax", "tanh"])
@pytest.mark.parametrize("bpreg", [0.0, 1.9])
def test_bpr_max_bpreg(act, bpreg, shape, dtype, device):
    B, N = shape
    _check(B, N, "bpr-max", act, dtype, device, 11, offset=True, bpreg=bpreg)


GRADCHECK_ACTS = ["linear", "tanh", "elu-0.5", "selu-1.0507-1.6733", "softmax", "softmax_logit",
                  "relu", "leaky-0.1"]


@pytest.mark.parametrize("act", GRADCHECK_ACTS)
@pytest.mark.parametrize("loss", LOSSES)
def test_gradcheck(loss, act):
    if not _valid(loss, act):
        pytest.skip("cross-entropy is NaN by definition where y can be negative")
    g = torch.Generator().manual_seed(5)
    scores = torch.randn(3, 7, generator=g, dtype=torch.float64)
    # keep relu / leaky / elu kinks away from the finite-difference steps
    scores = scores + 0.05 * torch.sign(scores)
    scores.requires_grad_(True)
    off = torch.rand(7, generator=g, dtype=torch.float64) * 0.01
    smoothing = 0.1 if loss in ("cross-entropy", "xe_logit") else 0.0
    fn = lambda s: fused_loss(s, loss, act, off, bpreg=1.3, smoothing=smoothing, scale=0.5)
    assert torch.autograd.gradcheck(fn, (scores,), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("loss,act", GRID)
def test_stable_for_huge_scores(loss, act, dtype, device):
    """Scores of +-1e4: finite loss and gradient, equal to the float64 reference."""
    B, N = 6, 40
    g = torch.Generator().manual_seed(1)
    scores = torch.where(torch.rand(B, N, generator=g) < 0.5, -1e4, 1e4).double()
    scores = scores * (1 + 0.01 * torch.rand(B, N, generator=g, dtype=torch.float64))
    scores = scores.to(dtype).to(device)
    value, grad = fused_loss_fwd_bwd(scores, loss, act, bpreg=1.0, scale=1.0 / B)
    assert torch.isfinite(value), f"loss {value}"
    assert torch.isfinite(grad).all()
    v64, g64 = reference.fused_loss_fwd_bwd(scores.double(), loss, act, bpreg=1.0, scale=1.0 / B)
    assert torch.isfinite(v64) and torch.isfinite(g64).all()
    if dtype == torch.float64:
        # y^2 - R with y ~ 1e4 cancels ~8 digits in bpr-max: both sides round there
        atol = 1e-12 * max(1.0, g64.abs().max().item())
        torch.testing.assert_close(value, v64, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(grad, g64, rtol=1e-8, atol=atol)
    else:
        v32, g32 = reference.fused_loss_fwd_bwd(scores, loss, act, bpreg=1.0, scale=1.0 / B)
        _assert_close_to_oracle(value, v32, v64, "loss", 1e-5)
        _assert_close_to_oracle(grad, g32, g64, "grad", 1e-5)


def test_autograd_function_scales_by_grad_output():
    scores, off = _inputs(4, 9, torch.float64, "cpu", 2, offset=True)
    scores.requires_grad_(True)
    off.requires_grad_(True)
    value = fused_loss(scores, "bpr-max", "elu-0.5", off, bpreg=1.9, scale=0.25)
    (3.0 * value).backward()
    _, dscores = fused_loss_fwd_bwd(scores.detach(), "bpr-max", "elu-0.5", off.detach(),
                                    bpreg=1.9, scale=0.25)
    torch.testing.assert_close(scores.grad, 3.0 * dscores, rtol=0, atol=0)
    assert off.grad is None


def test_codes_and_names_agree():
    scores, _ = _inputs(5, 11, torch.float64, "cpu", 4, offset=False)
    a = fused_loss_fwd_bwd(scores, "top1-max", "elu-0.5")
    act = enums.parse_activation("elu-0.5")
    b = fused_loss_fwd_bwd(scores, enums.LOSS_TOP1_MAX, act)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_deterministic_across_thread_counts():
    scores, off = _inputs(64, 1000, torch.float32, "cpu", 9, offset=True)
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = fused_loss_fwd_bwd(scores, "bpr-max", "elu-0.5", off, bpreg=1.9, scale=1 / 64)
        torch.set_num_threads(max(2, n))
        b = fused_loss_fwd_bwd(scores, "bpr-max", "elu-0.5", off, bpreg=1.9, scale=1 / 64)
    finally:
        torch.set_num_threads(n)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_scores(device):
    base, off = _inputs(20, 7, torch.float64, device, 6, offset=True)
    scores = base.t()  # 7 x 20, not contiguous
    assert not scores.is_contiguous()
    off = torch.rand(20, dtype=torch.float64, device=device)
    a = fused_loss_fwd_bwd(scores, "bpr-max", "elu-1", off)
    b = reference.fused_loss_fwd_bwd(scores, "bpr-max", "elu-1", off)
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])


@pytest.mark.parametrize("device", DEVICES)
def test_zero_rows(device):
    """B == 0 (an empty step): loss 0, empty gradient."""
    scores = torch.empty(0, 5, device=device)
    value, grad = fused_loss_fwd_bwd(scores, "bpr-max", "elu-0.5")
    assert value.dim() == 0 and value.item() == 0.0
    assert grad.shape == (0, 5)


@pytest.mark.parametrize("device", DEVICES)
def test_non_finite_score_gives_nan_loss(device):
    scores, _ = _inputs(4, 9, torch.float32, device, 1, offset=False)
    scores[2, 5] = float("nan")
    value, grad = fused_loss_fwd_bwd(scores, "bpr-max", "elu-0.5")
    assert torch.isnan(value)
    assert torch.isnan(grad[2]).all() and torch.isfinite(grad[[0, 1, 3]]).all()


@pytest.mark.parametrize("device", DEVICES)
def test_argument_errors(device):
    s = torch.randn(3, 5, device=device)
    with pytest.raises(RuntimeError, match="must be float32 or float64"):
        fused_loss_fwd_bwd(s.half(), "bpr", "linear")
    with pytest.raises(RuntimeError, match="must be float32 or float64"):
        fused_loss_fwd_bwd(s.long(), "bpr", "linear")
    with pytest.raises(RuntimeError, match="one entry per column"):
        fused_loss_fwd_bwd(s, "bpr", "linear", torch.zeros(4, device=device))
    with pytest.raises(RuntimeError, match="'scores' is Float but 'col_offset' is Double"):
        fused_loss_fwd_bwd(s, "bpr", "linear", torch.zeros(5, dtype=torch.float64, device=device))
    with pytest.raises(RuntimeError, match="at least as many columns as rows"):
        fused_loss_fwd_bwd(torch.randn(5, 3, device=device), "bpr", "linear")
    with pytest.raises(RuntimeError, match="must have 2 dimension"):
        fused_loss_fwd_bwd(torch.randn(5, device=device), "bpr", "linear")
    with pytest.raises(RuntimeError, match="unknown loss code 9"):
        fused_loss_fwd_bwd(s, 9, "linear")
    with pytest.raises(RuntimeError, match="unknown final activation code 8"):
        fused_loss_fwd_bwd(s, "bpr", 8)
    with pytest.raises(ValueError, match="unknown loss 'bpr-maximum'"):
        fused_loss_fwd_bwd(s, "bpr-maximum", "linear")
    with pytest.raises(ValueError, match="unknown activation"):
        fused_loss_fwd_bwd(s, "bpr", "gelu")
    with pytest.raises(RuntimeError, match=r"smoothing must be in \[0, 1\)"):
        fused_loss_fwd_bwd(s, "cross-entropy", "softmax", smoothing=1.0)
    with pytest.raises(RuntimeError, match="activation parameters must be finite"):
        fused_loss_fwd_bwd(s, "bpr", enums.Activation(enums.ACT_ELU, math.inf))


def _close_across_devices(a, b, dtype, what):
    tol = CROSS_DEVICE_TOL[dtype]
    atol = tol["atol"] * max(1.0, b.abs().max().item() if b.numel() else 0.0)
    torch.testing.assert_close(a, b, rtol=tol["rtol"], atol=atol, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("device", [pytest.param("cuda", id="cuda", marks=pytest.mark.cuda),
                                    pytest.param(CUDA_EMU, id="cuda-emu",
                                                 marks=pytest.mark.cuda_emu)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("loss,act", GRID)
def test_cuda_agrees_with_cpu(loss, act, dtype, device):
    """The CUDA kernel (on a GPU, or emulated) against the CPU kernel on the same inputs,
    within the one cross-device tolerance (support.CROSS_DEVICE_TOL)."""
    import importlib
    importlib.import_module("gru4rec_fast._C")  # defines torch.ops.gru4rec_fast
    cpu_ops = torch.ops.gru4rec_fast  # the product's operators, not rerouted to the emulation
    scores, off = _inputs(33, 301, dtype, "cpu", seed=zlib.crc32(f"{loss}{act}".encode()),
                          offset=True)
    kw = dict(bpreg=1.0, smoothing=0.1 if loss in ("cross-entropy", "xe_logit") else 0.0,
              scale=1.0 / 33)
    loss_code, a = enums.parse_loss(loss), enums.parse_activation(act)
    v_cpu, g_cpu = cpu_ops.fused_loss_fwd_bwd(scores, off, loss_code, a.code, a.a, a.b,
                                             kw["bpreg"], kw["smoothing"], kw["scale"])
    v_dev, g_dev = fused_loss_fwd_bwd(scores.to(device), loss, act, off.to(device), **kw)
    _close_across_devices(v_dev.cpu(), v_cpu, dtype, "loss")
    _close_across_devices(g_dev.cpu(), g_cpu, dtype, "grad")
