"""The CPU loss kernel's specialised element-wise math (csrc/cpu/loss_math_cpu.h:
exp_nonpos, the vectorisable exp, and the shared formulas evaluated with it) held to the
shared scalar functions of csrc/common/losses.h / activations.h that the CUDA kernel
calls, element by element on a dense grid; the kernel's activation-derivative loop body
(act_derivative_select) held to g * act_derivative; and the rule that an unknown loss or
activation code reaching a kernel fails loudly. Both through test-only bindings of the
emulation module (tests/cuda_emu.py), which compiles these headers as they are."""
import os
import signal
import subprocess
import sys

import pytest
import torch

import cuda_emu
from gru4rec_fast.ops import enums

pytestmark = pytest.mark.cuda_emu

# float32: exp_nonpos is a range reduction + degree-6 polynomial, not expf: measured
# within 1 ulp of glibc's expf over the grid below. The shared formulas evaluated with it
# inherit that: each is held to its measured bound in ulp of the shared result (the
# derivative e / (1 + e)^2 compounds the exp's ulp three times). Two exceptions are the
# formulas' own precision, not the polynomial's: results below 2^-125 are compared
# absolutely (exp_nonpos flushes exp(x) to 0 for x < -87.3, where expf gives values near
# or below FLT_MIN = 2^-126), and ELU / SELU's a * (exp(z) - 1) cancels for z near 0-, so
# there the bound is 2 ulp of exp(z) ~ 1 itself, times a (times b for SELU).
FLOAT32_MAX_ULP = {"exp": 1, "sigmoid": 2, "dsigmoid": 4, "bpr_term": 2, "bpr_grad": 2,
                   "elu": 2, "selu": 2}
FLOAT32_FLUSH = 2.0 ** -125
NAMES = ["exp", "sigmoid", "dsigmoid", "bpr_term", "bpr_grad", "elu", "selu"]


def _grid(dtype):
    """Dense over the range the kernels see, plus the edges: 0, -0, +-tiny, the flush
    threshold, large negative, huge, inf and NaN."""
    lin = torch.linspace(-100.0, 100.0, 400_001, dtype=torch.float64)
    mag = torch.logspace(-45, 38, 20_001, dtype=torch.float64)
    edges = torch.tensor([0.0, -0.0, 1e-45, -1e-45, 1e-38, -1e-38, 1.17549435e-38,
                          -1.17549435e-38, -87.3, -87.30001, -87.29999, -87.33654, -88.0,
                          -103.0, -1e4, -3.4e38, 3.4e38, 88.0, 1e4, float("inf"),
                          float("-inf"), float("nan")], dtype=torch.float64)
    return torch.cat([lin, mag, -mag, edges]).to(dtype)


def _ordered(x):
    """float32 bits as integers in the order of the values (for ulp distances)."""
    i = x.contiguous().view(torch.int32).to(torch.int64)
    return torch.where(i < 0, -(i & 0x7FFFFFFF), i)


def _check_float32(name, cpu, shared, x, cancel_scale=0.0):
    """cpu within FLOAT32_MAX_ULP[name] ulp of shared; below 2^-125 absolutely; with
    cancel_scale > 0 (ELU / SELU) also accepted within 2 ulp of 1.0 times cancel_scale."""
    nan_c, nan_s = torch.isnan(cpu), torch.isnan(shared)
    assert torch.equal(nan_c, nan_s), f"{name}: NaN at different inputs, e.g. x = " \
        f"{x[nan_c != nan_s][:5].tolist()}"
    ok = ~nan_s
    c, s, xv = cpu[ok], shared[ok], x[ok]
    flushed = s.abs() < FLOAT32_FLUSH
    assert bool((c[flushed] - s[flushed]).abs().max() < FLOAT32_FLUSH) if flushed.any() else True, \
        f"{name}: wrong below the normal range"
    dist = (_ordered(c) - _ordered(s)).abs()
    dist = torch.where(flushed, torch.zeros_like(dist), dist)
    if cancel_scale:
        near = (c.double() - s.double()).abs() <= 2 * 2.0 ** -24 * cancel_scale
        dist = torch.where(near, torch.zeros_like(dist), dist)
    worst = int(dist.argmax())
    assert int(dist[worst]) <= FLOAT32_MAX_ULP[name], \
        f"{name}: {int(dist[worst])} ulp at x = {xv[worst].item()!r}: CPU {c[worst].item()!r}, " \
        f"shared {s[worst].item()!r}"


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (0.5, 1.7)])
def test_cpu_loss_math_float32_within_ulps_of_shared(a, b):
    x = _grid(torch.float32)
    out = cuda_emu.module().loss_terms_cpu_vs_shared(x, a, b)
    assert sorted(out) == sorted(NAMES)
    cancel = {"elu": abs(a), "selu": abs(a * b)}
    for name in NAMES:
        cpu, shared = out[name]
        _check_float32(name, cpu, shared, x, cancel.get(name, 0.0))


def test_cpu_loss_math_float64_identical_to_shared():
    """float64 uses std::exp: the CPU and shared functions agree bit for bit."""
    x = _grid(torch.float64)
    out = cuda_emu.module().loss_terms_cpu_vs_shared(x, 0.5, 1.7)
    for name in NAMES:
        cpu, shared = out[name]
        assert torch.equal(torch.isnan(cpu), torch.isnan(shared)), name
        ok = ~torch.isnan(shared)
        assert torch.equal(cpu[ok], shared[ok]), name


def test_ulp_check_can_fail():
    """The comparison itself: a value 3 ulp off is caught, a flushed one is not."""
    x = torch.tensor([-1.0, -100.0])
    s = torch.exp(x)
    c = s.clone()
    c[0] = torch.nextafter(torch.nextafter(torch.nextafter(c[0], c[0] + 1), c[0] + 1), c[0] + 1)
    c[1] = 0.0
    with pytest.raises(AssertionError, match="3 ulp"):
        _check_float32("exp", c, s, x)


# act_derivative_select (loss_math_cpu.h), the CPU loss kernel's derivative loop body, is
# g * act_derivative (activations.h) written as selects: the same operations in the same
# order (a * g and g * a are the same rounding), so it is held to 0 ulp, in float32 and
# float64, with -0 == +0. At z == +-0 both take the negative side's value (relu 0, leaky
# a, elu a, selu a*b). The one difference by design: ReLU's negative side (z <= 0 or NaN)
# is a plain +0 where g * 0 is -0 for g < 0 and NaN for g = +-inf / NaN.
ACT_DERIVATIVE_MAX_ULP = 0
ELEMENTWISE_ACTS = {"linear": enums.ACT_LINEAR, "relu": enums.ACT_RELU,
                    "tanh": enums.ACT_TANH, "leaky": enums.ACT_LEAKY, "elu": enums.ACT_ELU,
                    "selu": enums.ACT_SELU}


def _act_grid(dtype):
    """Every z of a dense grid (0, +-0, +-tiny, denormals, large +-, inf, NaN) against
    every g of a small one (signed zeros, tiny, huge, inf, NaN), flattened."""
    lin = torch.linspace(-30.0, 30.0, 6_001, dtype=torch.float64)
    mag = torch.logspace(-45, 38, 401, dtype=torch.float64)
    edges = torch.tensor([0.0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40, 1e-310, -1e-310,
                          1.17549435e-38, -1.17549435e-38, 5e-324, -5e-324, 88.0, -88.0,
                          -1e4, 1e4, 3.4e38, -3.4e38, 1e300, -1e300, float("inf"),
                          float("-inf"), float("nan")], dtype=torch.float64)
    z = torch.cat([lin, mag, -mag, edges])
    g = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.37, -2.5, 1e-30, -1e-45, 1e30, -3.4e38,
                      float("inf"), float("-inf"), float("nan")], dtype=torch.float64)
    zz, gg = torch.meshgrid(z, g, indexing="ij")
    return zz.reshape(-1).to(dtype), gg.reshape(-1).to(dtype)


def _ordered_any(x):
    """float32 / float64 bits as integers in the order of the values (+0 and -0 both 0)."""
    int_type = torch.int32 if x.dtype == torch.float32 else torch.int64
    i = x.contiguous().view(int_type).to(torch.int64)
    sign_off = 0x7FFFFFFF if x.dtype == torch.float32 else 0x7FFFFFFFFFFFFFFF
    return torch.where(i < 0, -(i & sign_off), i)


def _check_act_derivative(name, sel, shared, z, g):
    """sel within ACT_DERIVATIVE_MAX_ULP of shared and NaN at the same elements; for
    ReLU, sel is exactly +0 on the negative side whatever g is."""
    if name == "relu":
        neg = ~(z > 0)
        zero = sel[neg]
        assert bool((zero == 0).all()) and not bool(torch.signbit(zero).any()), \
            f"relu: not +0 on the negative side, e.g. at (z, g) = " \
            f"{list(zip(z[neg][zero.ne(0) | torch.signbit(zero)][:3].tolist(), g[neg][zero.ne(0) | torch.signbit(zero)][:3].tolist()))}"
        keep = ~neg | torch.isfinite(g)
        sel, shared, z, g = sel[keep], shared[keep], z[keep], g[keep]
    nan_c, nan_s = torch.isnan(sel), torch.isnan(shared)
    assert torch.equal(nan_c, nan_s), f"{name}: NaN at different (z, g), e.g. " \
        f"{list(zip(z[nan_c != nan_s][:3].tolist(), g[nan_c != nan_s][:3].tolist()))}"
    ok = ~nan_s
    c, s, zv, gv = sel[ok], shared[ok], z[ok], g[ok]
    dist = (_ordered_any(c) - _ordered_any(s)).abs()
    worst = int(dist.argmax())
    assert int(dist[worst]) <= ACT_DERIVATIVE_MAX_ULP, \
        f"{name}: {int(dist[worst])} ulp at z = {zv[worst].item()!r}, g = {gv[worst].item()!r}: " \
        f"select {c[worst].item()!r}, shared {s[worst].item()!r}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("a,b", [(1.0, 1.0), (0.5, 1.7), (1.6732632423543772, 1.0507009873554805)])
def test_act_derivative_select_matches_shared(dtype, a, b):
    z, g = _act_grid(dtype)
    out = cuda_emu.module().act_derivative_select_vs_shared(z, g, a, b)
    # Every element-wise code (those before the row-wise ones) is covered.
    every = [c for c in enums.ACTIVATIONS.values() if c not in enums.ROWWISE_ACTS]
    assert sorted(out) == sorted(ELEMENTWISE_ACTS.values()) == sorted(set(every))
    for name, code in ELEMENTWISE_ACTS.items():
        sel, shared = out[code]
        _check_act_derivative(name, sel, shared, z, g)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_act_derivative_select_at_zero_takes_negative_side(dtype):
    """At z = +0 and -0 the derivative is the negative side's, as torch's autograd."""
    a, b = 0.5, 1.7
    z = torch.tensor([0.0, -0.0], dtype=dtype)
    g = torch.ones(2, dtype=dtype)
    out = cuda_emu.module().act_derivative_select_vs_shared(z, g, a, b)
    want = {"linear": 1.0, "relu": 0.0, "tanh": 1.0, "leaky": a, "elu": a, "selu": a * b}
    for name, code in ELEMENTWISE_ACTS.items():
        expected = torch.full((2,), want[name], dtype=dtype)
        assert torch.equal(out[code][0], expected), (name, out[code][0])
        assert torch.equal(out[code][1], expected), (name, out[code][1])


def test_act_derivative_check_can_fail():
    """The comparison itself: a 1-ulp nudge, a NaN where the shared value is finite and a
    ReLU -0 on the negative side are each caught."""
    z, g = _act_grid(torch.float32)
    out = cuda_emu.module().act_derivative_select_vs_shared(z, g, 0.5, 1.7)
    sel, shared = out[enums.ACT_ELU]
    k = int(((z < 0) & (g == 1.0)).nonzero()[0])
    nudged = sel.clone()
    nudged[k] = torch.nextafter(nudged[k], torch.tensor(float("inf")))
    with pytest.raises(AssertionError, match="elu: 1 ulp"):
        _check_act_derivative("elu", nudged, shared, z, g)
    nan_planted = sel.clone()
    nan_planted[k] = float("nan")
    with pytest.raises(AssertionError, match="elu: NaN at different"):
        _check_act_derivative("elu", nan_planted, shared, z, g)
    relu_sel, relu_shared = out[enums.ACT_RELU]
    neg_zero = relu_sel.clone()
    neg_zero[int(((z < 0) & (g == -1.0)).nonzero()[0])] = -0.0
    with pytest.raises(AssertionError, match="relu: not \\+0"):
        _check_act_derivative("relu", neg_zero, relu_shared, z, g)


def test_dispatch_lists_every_code_and_rejects_unknown():
    """The dispatch the CPU loss kernel runs once per call (G4R_DISPATCH_LOSS /
    G4R_DISPATCH_FINAL_ACTIVATION): every code reaches its own instantiation, an unknown
    one raises naming it."""
    mod = cuda_emu.module()
    for code in enums.LOSSES.values():
        assert mod.dispatch_loss_code(code) == code
    for code in range(enums.ACT_SOFTMAX_LOGIT + 1):
        assert mod.dispatch_final_activation_code(code) == code
    for bad in (-1, len(enums.LOSSES), 99):
        with pytest.raises(RuntimeError, match=f"unknown loss code {bad}"):
            mod.dispatch_loss_code(bad)
    for bad in (-1, enums.ACT_SOFTMAX_LOGIT + 1, 99):
        with pytest.raises(RuntimeError, match=f"unknown final activation code {bad}"):
            mod.dispatch_final_activation_code(bad)


def test_cuda_kernel_unknown_loss_code_fails():
    """Past the entry point's check, the CUDA kernel's own loss switch stops the launch
    (a device-side assertion) instead of computing some other loss."""
    mod = cuda_emu.module()
    scores = torch.randn(3, 5, dtype=torch.float64)
    empty = torch.empty(0, dtype=torch.float64)
    v, _ = mod.fused_loss_fwd_bwd_unchecked(scores, empty, enums.LOSS_BPR_MAX, enums.ACT_TANH,
                                            0.0, 0.0, 0.0, 0.0, 1.0)
    assert torch.isfinite(v)
    with pytest.raises(RuntimeError, match="unknown loss code"):
        mod.fused_loss_fwd_bwd_unchecked(scores, empty, len(enums.LOSSES), enums.ACT_TANH,
                                         0.0, 0.0, 0.0, 0.0, 1.0)


@pytest.mark.skipif(cuda_emu.sanitized(), reason="the child would need the ASan runtime preloaded")
def test_cuda_kernel_unknown_activation_code_stops():
    """An unknown activation code reaching act_forward stops the process (a device trap
    on a GPU, abort in the emulation): run in a child process."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (f"import sys; sys.path.insert(0, {tests!r}); import torch, cuda_emu; "
            "m = cuda_emu.module(); s = torch.randn(3, 5, dtype=torch.float64); "
            "e = torch.empty(0, dtype=torch.float64); "
            "m.fused_loss_fwd_bwd_unchecked(s, e, 3, 2, 0.0, 0.0, 0.0, 0.0, 1.0); "
            "print('valid code ran', flush=True); "
            "m.fused_loss_fwd_bwd_unchecked(s, e, 3, 99, 0.0, 0.0, 0.0, 0.0, 1.0); "
            "print('unknown code computed', flush=True)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "valid code ran" in r.stdout, r.stderr[-2000:]
    assert r.returncode == -signal.SIGABRT and "unknown code computed" not in r.stdout, \
        (r.returncode, r.stdout, r.stderr[-2000:])
