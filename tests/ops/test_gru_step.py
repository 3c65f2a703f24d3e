"""gru_step (fused C++/CUDA) against the plain-PyTorch reference: forward output and all
four gradients, float64 as the oracle, gradcheck, multi-step recurrence, B = 0, errors."""
import math
import re

import pytest
import torch

from support import DEVICES

from gru4rec_fast.ops import reference
from gru4rec_fast.ops.gru_step import SAVED_NAMES, gru_step, gru_step_bwd, gru_step_fwd

ACTS = ["tanh", "linear", "relu", "leaky-0.1", "elu-0.5", "elu-1", "selu-1.05-1.67"]
BATCHES = [1, 3, 32, 80]
HIDDEN = [1, 7, 100, 224]
# (reset kind, dropout mask?): each reset kind and each mask setting, with the two
# combined where both matter (the other crossings add run time, not coverage).
VARIANTS = [("none", False), ("none", True), ("some", True), ("all", False)]


def make_inputs(B, d, reset="none", mask=False, keep=0.7, seed=0):
    """Random float64 CPU inputs in the ranges training sees (h like a tanh output,
    weights in the spec's init range)."""
    g = torch.Generator().manual_seed(seed * 7919 + B * 31 + d)
    bound = math.sqrt(6.0 / (2 * d))
    inp = {
        "vx": torch.randn(B, 3 * d, generator=g, dtype=torch.float64),
        "h": torch.rand(B, d, generator=g, dtype=torch.float64) * 2 - 1,
        "Wrz": (torch.rand(d, 2 * d, generator=g, dtype=torch.float64) * 2 - 1) * bound,
        "Wh": (torch.rand(d, d, generator=g, dtype=torch.float64) * 2 - 1) * bound,
        "dout": torch.randn(B, d, generator=g, dtype=torch.float64),
        "reset": None,
        "keep_mask": None,
    }
    if reset == "some":
        flags = torch.rand(B, generator=g) < 0.4
        if B > 1:  # make sure both kinds of row occur
            flags[0], flags[-1] = True, False
        else:
            flags[0] = True
        inp["reset"] = flags
    elif reset == "all":
        inp["reset"] = torch.ones(B, dtype=torch.bool)
    if mask:
        inp["keep_mask"] = (torch.rand(B, d, generator=g, dtype=torch.float64) < keep).double() / keep
    return inp


def run(fn, inp, act, dtype, device):
    """Forward + backward of fn at dtype/device; returns [out, dvx, dh, dWrz, dWh] in float64."""
    xs = [inp[k].to(device, dtype).requires_grad_() for k in ("vx", "h", "Wrz", "Wh")]
    reset = None if inp["reset"] is None else inp["reset"].to(device)
    mask = None if inp["keep_mask"] is None else inp["keep_mask"].to(device, dtype)
    out = fn(*xs, reset=reset, keep_mask=mask, act=act)
    grads = torch.autograd.grad(out, xs, inp["dout"].to(device, dtype))
    return [t.detach().double().cpu() for t in (out, *grads)]


NAMES = ["out", "dvx", "dh", "dWrz", "dWh"]


def assert_matches_oracle(inp, act, device):
    oracle = run(reference.gru_step, inp, act, torch.float64, "cpu")
    fused64 = run(gru_step, inp, act, torch.float64, device)
    ref32 = run(reference.gru_step, inp, act, torch.float32, "cpu")
    fused32 = run(gru_step, inp, act, torch.float32, device)
    for name, o, f64, r32, f32 in zip(NAMES, oracle, fused64, ref32, fused32):
        assert f64.shape == o.shape and f32.shape == o.shape, name
        scale = max(1.0, o.abs().max().item()) if o.numel() else 1.0
        torch.testing.assert_close(f64, o, rtol=1e-10, atol=1e-12 * scale, msg=lambda m: f"{name} float64: {m}")
        err_fused = (f32 - o).abs().max().item() if o.numel() else 0.0
        err_ref = (r32 - o).abs().max().item() if o.numel() else 0.0
        # flash-attention's rule: at most 2x the plain float32 error, plus a few ulps of floor.
        assert err_fused <= 2 * err_ref + 1e-6 * scale, (
            f"{name} float32: fused error {err_fused:.3g} vs reference error {err_ref:.3g} (scale {scale:.3g})")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reset,mask", VARIANTS, ids=[f"reset_{r}-{'mask' if m else 'nomask'}" for r, m in VARIANTS])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("d", HIDDEN)
@pytest.mark.parametrize("B", BATCHES)
def test_matches_reference(B, d, act, reset, mask, device):
    assert_matches_oracle(make_inputs(B, d, reset, mask), act, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ["tanh", "relu", "leaky-0.1", "elu-0.5", "selu-1.05-1.67", "linear"])
@pytest.mark.parametrize("reset,mask", [("none", False), ("some", True)])
def test_gradcheck(act, reset, mask, device):
    inp = make_inputs(4, 5, reset, mask, seed=3)
    xs = [inp[k].to(device).requires_grad_() for k in ("vx", "h", "Wrz", "Wh")]
    rs = None if inp["reset"] is None else inp["reset"].to(device)
    km = None if inp["keep_mask"] is None else inp["keep_mask"].to(device)
    assert torch.autograd.gradcheck(lambda *a: gru_step(*a, reset=rs, keep_mask=km, act=act), xs,
                                    eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ["tanh", "elu-0.5"])
def test_multi_step_recurrence(act, device):
    """Feed out back as h for 5 steps (new sessions and dropout on the way); outputs and
    the gradients through the whole unrolled chain equal the reference's."""
    B, d, steps = 6, 9, 5
    g = torch.Generator().manual_seed(11)
    vxs = [torch.randn(B, 3 * d, generator=g, dtype=torch.float64) for _ in range(steps)]
    resets = [torch.rand(B, generator=g) < 0.3 for _ in range(steps)]
    masks = [(torch.rand(B, d, generator=g, dtype=torch.float64) < 0.8).double() / 0.8 if t % 2 else None
             for t in range(steps)]
    h_init = torch.rand(B, d, generator=g, dtype=torch.float64) * 2 - 1
    Wrz = (torch.rand(d, 2 * d, generator=g, dtype=torch.float64) * 2 - 1) * 0.5
    Wh = (torch.rand(d, d, generator=g, dtype=torch.float64) * 2 - 1) * 0.5
    weights = [torch.randn(B, d, generator=g, dtype=torch.float64) for _ in range(steps)]

    def unroll(fn):
        leaves = [t.to(device).requires_grad_() for t in (*vxs, h_init, Wrz, Wh)]
        *vx_l, h, Wrz_l, Wh_l = leaves
        outs = []
        for t in range(steps):
            km = None if masks[t] is None else masks[t].to(device)
            h = fn(vx_l[t], h, Wrz_l, Wh_l, reset=resets[t].to(device), keep_mask=km, act=act)
            outs.append(h)
        loss = sum((o * w.to(device)).sum() for o, w in zip(outs, weights))
        grads = torch.autograd.grad(loss, leaves)
        return [o.detach().cpu() for o in outs], [gr.cpu() for gr in grads]

    outs_f, grads_f = unroll(gru_step)
    outs_r, grads_r = unroll(reference.gru_step)
    for a, b in zip(outs_f + grads_f, outs_r + grads_r):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("with_extras", [False, True])
def test_empty_batch(with_extras, device):
    """B = 0: out is 0 x d, dvx 0 x 3d, dh 0 x d, and the weight gradients are zeros."""
    d = 5
    inp = make_inputs(0, d)
    if with_extras:
        inp["reset"] = torch.zeros(0, dtype=torch.bool)
        inp["keep_mask"] = torch.ones(0, d, dtype=torch.float64)
    fused = run(gru_step, inp, "tanh", torch.float64, device)
    ref = run(reference.gru_step, inp, "tanh", torch.float64, "cpu")
    for name, f, r, shape in zip(NAMES, fused, ref, [(0, d), (0, 3 * d), (0, d), (d, 2 * d), (d, d)]):
        assert f.shape == shape, name
        torch.testing.assert_close(f, r)
    assert not fused[3].any() and not fused[4].any()


@pytest.mark.parametrize("device", DEVICES)
def test_raw_helpers_and_saved(device):
    """gru_step_fwd/bwd equal the autograd path; saved holds what the docstring says."""
    B, d = 5, 6
    inp = make_inputs(B, d, "some", True, seed=5)
    t = {k: (v.to(device) if v is not None else None) for k, v in inp.items()}
    out, saved = gru_step_fwd(t["vx"], t["h"], t["Wrz"], t["Wh"], t["reset"], t["keep_mask"], "elu-0.5")
    assert len(saved) == len(SAVED_NAMES) == 5
    h0, rz, hr, c, dact = saved
    assert rz.shape == (B, 2 * d) and all(s.shape == (B, d) for s in (h0, hr, c, dact))
    torch.testing.assert_close(h0[t["reset"]], torch.zeros_like(h0[t["reset"]]))
    torch.testing.assert_close(h0[~t["reset"]], t["h"][~t["reset"]])
    torch.testing.assert_close(hr, h0 * rz[:, :d])
    dvx, dh, dWrz, dWh = gru_step_bwd(t["dout"], saved, t["Wrz"], t["Wh"], t["reset"], t["keep_mask"], "elu-0.5")
    expected = run(gru_step, inp, "elu-0.5", torch.float64, device)
    for a, b in zip([out, dvx, dh, dWrz, dWh], expected):
        torch.testing.assert_close(a.cpu(), b, rtol=0, atol=0)
    assert not dh[t["reset"]].any()


@pytest.mark.parametrize("device", DEVICES)
def test_input_forms(device):
    """uint8 reset == bool reset; all-ones mask == no mask; non-contiguous inputs work;
    the inputs are not modified."""
    B, d = 7, 8
    inp = make_inputs(B, d, "some", False, seed=9)
    base = run(gru_step, inp, "tanh", torch.float64, device)
    as_u8 = dict(inp, reset=inp["reset"].to(torch.uint8))
    ones = dict(inp, keep_mask=torch.ones(B, d, dtype=torch.float64))
    for other in (as_u8, ones):
        for a, b in zip(run(gru_step, other, "tanh", torch.float64, device), base):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # Non-contiguous: vx a column slice of a wider tensor, h and Wh transposed views.
    wide = torch.randn(B, 3 * d + 4, dtype=torch.float64)
    wide[:, 2:2 + 3 * d] = inp["vx"]
    nc = dict(inp, vx=wide[:, 2:2 + 3 * d], h=inp["h"].t().contiguous().t(), Wh=inp["Wh"].t().contiguous().t())
    assert not nc["vx"].is_contiguous() and not nc["h"].is_contiguous()
    for a, b in zip(run(gru_step, nc, "tanh", torch.float64, device), base):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    h = inp["h"].to(device)
    h_before = h.clone()
    gru_step(inp["vx"].to(device), h, inp["Wrz"].to(device), inp["Wh"].to(device),
             reset=inp["reset"].to(device))
    assert torch.equal(h, h_before)


def _args(device="cpu", B=3, d=4, dtype=torch.float32):
    inp = make_inputs(B, d, "some", True)
    return {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device))
            for k, v in inp.items() if v is not None}


def _call_raw(a, act=2, **over):
    from gru4rec_fast import _ext
    a = dict(a, **over)
    return _ext.ops().gru_step_forward(a["vx"], a["h"], a["Wrz"], a["Wh"], a["reset"], a["keep_mask"], act, 0.0, 0.0)


BAD_CASES = [
    ("vx_width", lambda a: dict(vx=a["vx"][:, :-1]), "'vx' must be B x 3d"),
    ("vx_1d", lambda a: dict(vx=a["vx"][0]), "'vx' must have 2 dimension(s)"),
    ("h_rows", lambda a: dict(h=a["h"][:-1]), "'h' must be B x d"),
    ("h_cols", lambda a: dict(h=a["h"][:, :-1]), "'h' must be B x d"),
    ("Wrz_shape", lambda a: dict(Wrz=a["Wrz"][:, :-1]), "'Wrz' must be d x 2d"),
    ("Wh_square", lambda a: dict(Wh=a["Wh"][:-1]), "'Wh' must be a non-empty square"),
    ("h_dtype", lambda a: dict(h=a["h"].double()), "'h' is Double but 'vx' is Float"),
    ("Wh_dtype", lambda a: dict(Wh=a["Wh"].double()), "'Wh' is Double but 'vx' is Float"),
    ("vx_int", lambda a: dict(vx=a["vx"].long()), "'vx' must be float32 or float64"),
    ("reset_len", lambda a: dict(reset=a["reset"][:-1]), "'reset' must have shape (B,)"),
    ("reset_dtype", lambda a: dict(reset=a["reset"].float()), "'reset' must be bool or uint8"),
    ("mask_shape", lambda a: dict(keep_mask=a["keep_mask"][:, :-1]), "'keep_mask' must be B x d"),
    ("mask_dtype", lambda a: dict(keep_mask=a["keep_mask"].double()), "'keep_mask' is Double but 'vx' is Float"),
    ("h_device", lambda a: dict(h=torch.empty(a["h"].shape, device="meta")), "'h' is on meta"),
]


def test_meta_inputs_give_shapes():
    """All-meta inputs run the fake kernel (torch.library): shapes only, no error."""
    a = _args()
    meta = {k: torch.empty(v.shape, dtype=v.dtype, device="meta") for k, v in a.items()}
    out, h0, rz, hr, c, dact = _call_raw(meta)
    B, d = a["h"].shape
    assert out.device.type == "meta" and out.dtype == a["vx"].dtype
    assert [t.shape for t in (out, h0, rz, hr, c, dact)] == [(B, d), (B, d), (B, 2 * d),
                                                             (B, d), (B, d), (B, d)]


@pytest.mark.parametrize("name,change,message", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_arguments(name, change, message):
    a = _args()
    with pytest.raises(RuntimeError, match=re.escape(message)):
        _call_raw(a, **change(a))


def test_bad_activations():
    a = _args()
    with pytest.raises(RuntimeError, match="not a hidden-layer activation"):
        _call_raw(a, act=6)  # softmax code
    with pytest.raises(RuntimeError, match="not a hidden-layer activation"):
        _call_raw(a, act=-1)
    xs = (a["vx"], a["h"], a["Wrz"], a["Wh"])
    with pytest.raises(ValueError, match="final activation only"):
        gru_step(*xs, act="softmax")
    with pytest.raises(ValueError, match="unknown activation"):
        gru_step(*xs, act="sigmoid")


def test_bad_backward_arguments():
    from gru4rec_fast import _ext
    a = _args()
    out, saved = gru_step_fwd(a["vx"], a["h"], a["Wrz"], a["Wh"], a["reset"], a["keep_mask"])
    C = _ext.ops()
    with pytest.raises(RuntimeError, match=re.escape("'saved' must be the 5 tensors")):
        C.gru_step_backward(out, list(saved[:4]), a["Wrz"], a["Wh"], a["reset"], a["keep_mask"], 2, 0.0, 0.0)
    with pytest.raises(RuntimeError, match=re.escape("'saved[1] (rz)' must be 3 x 8")):
        C.gru_step_backward(out, [saved[0], saved[0], *saved[2:]], a["Wrz"], a["Wh"], a["reset"], a["keep_mask"], 2, 0.0, 0.0)
    with pytest.raises(RuntimeError, match=re.escape("'dout' must be B x d")):
        C.gru_step_backward(out[:, :-1], list(saved), a["Wrz"], a["Wh"], a["reset"], a["keep_mask"], 2, 0.0, 0.0)


@pytest.mark.parametrize("device", [p for p in DEVICES if p.id == "cuda"])
def test_device_mismatch_cuda(device):
    a = _args(device)
    with pytest.raises(RuntimeError, match=re.escape("'h' is on cpu but 'vx' is on cuda")):
        _call_raw(a, h=a["h"].cpu())
    with pytest.raises(RuntimeError, match=re.escape("'reset' is on cpu")):
        _call_raw(a, reset=a["reset"].cpu())
