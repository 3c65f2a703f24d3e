"""Fused GRU4Rec loss: final activation + loss + dLoss/dscores in one pass.

The positive item of row i is column i (the first B columns are the mini-batch targets,
the rest shared negative samples), so scores are B x N with N >= B.
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library, enums


def _codes(loss, final_act):
    loss_code = loss if isinstance(loss, int) else enums.parse_loss(loss)
    if isinstance(final_act, int):
        act = enums.Activation(final_act)
    else:
        act = enums.parse_activation(final_act)
    return loss_code, act


def _offset(scores, col_offset):
    if col_offset is None:
        return scores.new_empty(0)
    return col_offset


def fused_loss_fwd_bwd(scores, loss, final_act, col_offset=None, bpreg=1.0, smoothing=0.0,
                       scale=1.0):
    """Loss and its gradient with respect to `scores`, computed together.

    Args:
        scores: (B, N) float32 or float64 raw scores, N >= B; the positive of row i is
            column i. CPU or CUDA.
        loss: name ("cross-entropy", "xe_logit", "bpr", "bpr-max", "top1", "top1-max")
            or its code from gru4rec_fast.ops.enums.
        final_act: name ("linear", "relu", "tanh", "leaky-X", "elu-X", "selu-X-Y",
            "softmax", "softmax_logit"), an enums.Activation, or a bare code (then with
            parameters 0).
        col_offset: optional (N,) tensor of scores' dtype/device subtracted from every row
            before the activation (logQ correction). Gets no gradient.
        bpreg: score regularisation weight of bpr-max.
        smoothing: label smoothing in [0, 1) for cross-entropy / xe_logit (no effect when
            N == 1).
        scale: factor on loss and gradient (GRU4Rec uses 1 / batch_size).

    Returns:
        (loss, dscores): 0-dim tensor of scores' dtype (summed over rows, times scale)
        and the (B, N) gradient. No host synchronisation on CUDA. Rows with a non-finite
        score give a NaN loss and a NaN gradient row. B == 0 gives loss 0 and an empty
        gradient.
    """
    loss_code, act = _codes(loss, final_act)
    return _library.call(_ext.ops().fused_loss_fwd_bwd.default, scores,
                         _offset(scores, col_offset), int(loss_code), int(act.code),
                         float(act.a), float(act.b), float(bpreg), float(smoothing),
                         float(scale))


def register(ns):
    """Fake kernel of fused_loss_fwd_bwd and its autograd: the gradient computed in the
    forward pass times grad_output (the returned dscores is not differentiable)."""

    @torch.library.register_fake(f"{ns}::fused_loss_fwd_bwd")
    def _(scores, col_offset, loss, final_act, act_a, act_b, bpreg, smoothing, scale):
        if col_offset.numel() > 0:
            _library.same_device("fused_loss_fwd_bwd", "scores", scores, col_offset=col_offset)
        return scores.new_empty(()), scores.new_empty(scores.shape)

    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(output[1])

    def backward(ctx, grad_loss, _grad_dscores):
        (dscores,) = ctx.saved_tensors
        grad = dscores * grad_loss if ctx.needs_input_grad[0] else None
        return grad, None, None, None, None, None, None, None, None

    torch.library.register_autograd(f"{ns}::fused_loss_fwd_bwd", backward,
                                    setup_context=setup_context)


def fused_loss(scores, loss, final_act, col_offset=None, bpreg=1.0, smoothing=0.0, scale=1.0):
    """Differentiable fused loss (same arguments as `fused_loss_fwd_bwd`).

    Returns the 0-dim loss; its backward multiplies the gradient computed in the forward
    pass by grad_output (so the forward does the whole work, the backward one multiply).
    col_offset receives no gradient.
    """
    return fused_loss_fwd_bwd(scores, loss, final_act, col_offset, bpreg, smoothing, scale)[0]
