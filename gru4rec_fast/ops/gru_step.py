"""One GRU layer step in the paper's form (reset gate applied to h before the recurrent
product; differs from torch.nn.GRUCell), fused in C++/CUDA.

    h0   = h with the rows where `reset` is true zeroed (a new session in that slot)
    r, z = sigmoid(vx[:, d:2d] + (h0 @ Wrz)[:, :d]), sigmoid(vx[:, 2d:] + (h0 @ Wrz)[:, d:])
    c    = act((h0 * r) @ Wh + vx[:, :d])
    out  = ((1 - z) * h0 + z * c) * keep_mask

`out` is also the hidden state to carry to the next step (as in the reference code,
dropout included). The two GEMMs of forward and four of backward run in BLAS/cuBLAS;
the element-wise work between them is fused into a few passes (CUDA: two kernels each
way; CPU: ATen's vectorised sigmoid/tanh in place plus one fused row pass in forward,
two fused row passes in backward).

Three entry points:
- `gru_step`: autograd-aware; gradients flow to vx, h, Wrz and Wh.
- `gru_step_fwd` / `gru_step_bwd`: the raw kernels without autograd, for a training loop
  that does its own backward (GRU4Rec back-propagates one step at a time). `gru_step_fwd`
  returns `(out, saved)`; keep `saved` and hand it, unchanged, to `gru_step_bwd`.
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library
from gru4rec_fast.ops.enums import parse_activation

# What `saved` holds (all B x d except rz, which is B x 2d), in order:
SAVED_NAMES = ("h0", "rz", "hr", "c", "dact")


def _none_to_empty(t, like):
    return like.new_empty(0) if t is None else t


def gru_step_fwd(vx, h, Wrz, Wh, reset=None, keep_mask=None, act="tanh"):
    """Raw fused forward of one GRU step (no autograd graph is recorded).

    Args:
        vx: B x 3d float32/float64, x @ Wx + b, column blocks [candidate | r | z].
        h: B x d, same dtype/device, the previous hidden state.
        Wrz: d x 2d, recurrent weights of the gates, blocks [r | z].
        Wh: d x d, recurrent weights of the candidate.
        reset: None or a (B,) bool/uint8 tensor; rows where it is true start from h = 0.
        keep_mask: None or B x d inverted-dropout mask (values 0 or 1/keep), applied to out.
        act: hidden activation name ("tanh", "linear", "relu", "leaky-X", "elu-X",
            "selu-X-Y") or an `enums.Activation`.

    Returns:
        (out, saved): out is B x d; saved is a tuple of tensors for `gru_step_bwd`:
        h0 (B x d, h with reset rows zeroed), rz (B x 2d, gates after the sigmoid),
        hr (B x d, h0 * r), c (B x d, activated candidate), dact (B x d, act' at the
        candidate's pre-activation). B = 0 gives empty outputs.
    """
    a = parse_activation(act, hidden=True)
    with torch.no_grad():
        out, *saved = _library.call(_ext.ops().gru_step_forward.default, vx, h, Wrz, Wh,
                                    _none_to_empty(reset, vx), _none_to_empty(keep_mask, vx),
                                    a.code, float(a.a), float(a.b))
    return out, tuple(saved)


def gru_step_bwd(dout, saved, Wrz, Wh, reset=None, keep_mask=None, act="tanh"):
    """Raw fused backward of one GRU step.

    Args:
        dout: B x d gradient of the loss with respect to `out`.
        saved: the tuple `gru_step_fwd` returned.
        Wrz, Wh, reset, keep_mask, act: as given to `gru_step_fwd`.

    Returns:
        (dvx, dh, dWrz, dWh) of shapes B x 3d, B x d, d x 2d, d x d. dh is zero in reset
        rows; dvx's blocks are the pre-activation gradients [candidate | r | z], so the
        bias gradient is dvx.sum(0) and Wx's is x.T @ dvx. With B = 0 the weight
        gradients are zero matrices.
    """
    a = parse_activation(act, hidden=True)
    dvx, dh, dWrz, dWh = _ext.ops().gru_step_backward(
        dout, list(saved), Wrz, Wh, _none_to_empty(reset, dout),
        _none_to_empty(keep_mask, dout), a.code, float(a.a), float(a.b))
    return dvx, dh, dWrz, dWh


def register(ns):
    """Fake kernels of gru_step_{forward,backward} and the forward's autograd (through
    the backward op; the saved outputs are not differentiable)."""
    ops = getattr(torch.ops, ns)

    @torch.library.register_fake(f"{ns}::gru_step_forward")
    def _(vx, h, Wrz, Wh, reset, keep_mask, act, act_a, act_b):
        _library.same_device("gru_step_forward", "vx", vx, ref_first=False, h=h, Wrz=Wrz,
                             Wh=Wh, reset=reset, keep_mask=keep_mask)
        B, d = h.shape[0], Wh.shape[0]
        bd = lambda: vx.new_empty((B, d))  # noqa: E731
        return bd(), bd(), vx.new_empty((B, 2 * d)), bd(), bd(), bd()

    @torch.library.register_fake(f"{ns}::gru_step_backward")
    def _(dout, saved, Wrz, Wh, reset, keep_mask, act, act_a, act_b):
        _library.same_device("gru_step_backward", "dout", dout, ref_first=False, Wrz=Wrz,
                             Wh=Wh, reset=reset, keep_mask=keep_mask)
        B, d = dout.shape[0], Wh.shape[0]
        return (dout.new_empty((B, 3 * d)), dout.new_empty((B, d)), dout.new_empty((d, 2 * d)),
                dout.new_empty((d, d)))

    def setup_context(ctx, inputs, output):
        vx, h, Wrz, Wh, reset, keep_mask, act, act_a, act_b = inputs
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(*output[1:], Wrz, Wh, reset, keep_mask)
        ctx.act = (act, act_a, act_b)

    def backward(ctx, dout, *_grads_of_saved):
        *saved, Wrz, Wh, reset, keep_mask = ctx.saved_tensors
        dvx, dh, dWrz, dWh = ops.gru_step_backward(dout, saved, Wrz, Wh, reset, keep_mask,
                                                   *ctx.act)
        return dvx, dh, dWrz, dWh, None, None, None, None, None

    torch.library.register_autograd(f"{ns}::gru_step_forward", backward,
                                    setup_context=setup_context)


def gru_step(vx, h, Wrz, Wh, reset=None, keep_mask=None, act="tanh"):
    """One GRU layer step with autograd (gradients for vx, h, Wrz, Wh).

    Args:
        vx: B x 3d float32/float64 (CPU or CUDA), x @ Wx + b, blocks [candidate | r | z].
        h: B x d previous hidden state.
        Wrz: d x 2d, blocks [r | z]. Wh: d x d.
        reset: None or (B,) bool/uint8; true rows start from a zero hidden state.
        keep_mask: None or B x d inverted-dropout mask (0 or 1/keep) applied to the output.
        act: hidden activation name or `enums.Activation` (default "tanh").

    Returns:
        out, B x d: the layer's output, also the hidden state for the next step.
    """
    a = parse_activation(act, hidden=True)  # errors before any kernel runs
    return _library.call(_ext.ops().gru_step_forward.default, vx, h, Wrz, Wh,
                         _none_to_empty(reset, vx), _none_to_empty(keep_mask, vx), a.code,
                         float(a.a), float(a.b))[0]
