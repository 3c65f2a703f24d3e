"""Plain-PyTorch reference implementation of every fused op.

Written the straightforward way a careful PyTorch user would (the way the authors'
PyTorch port does it: gathers, matmuls, autograd, coalesced sparse gradients,
index_add). Tests hold each fused op against its namesake here. One section per op;
each section is owned by that op.
"""
import math

import torch
import torch.nn.functional as F

from gru4rec_fast.ops import enums


# ==============================================================================
# sampled_scores
# ==============================================================================

def sampled_scores(*args, **kwargs):
    raise NotImplementedError('reference sampled_scores')

def sampled_scores_backward(*args, **kwargs):
    raise NotImplementedError('reference sampled_scores_backward')


# end of sampled_scores





# ==============================================================================
# fused_loss
# ==============================================================================

_LOSS_EPS = 1e-24  # keeps log() finite where an activated score is exactly 0


def final_activation(z, act):
    """Apply a final activation (name or enums.Activation) to scores z (B x N)."""
    act = enums.parse_activation(act)
    code, a, b = act.code, act.a, act.b
    if code == enums.ACT_LINEAR:
        return z
    if code == enums.ACT_RELU:
        return torch.relu(z)
    if code == enums.ACT_TANH:
        return torch.tanh(z)
    if code == enums.ACT_LEAKY:
        return F.leaky_relu(z, a)
    if code == enums.ACT_ELU:
        return F.elu(z, a)
    if code == enums.ACT_SELU:
        return a * F.elu(z, b)
    if code == enums.ACT_SOFTMAX:
        return torch.softmax(z, dim=1)
    if code == enums.ACT_SOFTMAX_LOGIT:
        return -torch.log_softmax(z, dim=1)  # logsumexp(row) - z
    raise ValueError(f"unknown activation code {code}")


def _negative_softmax(y):
    """Row-wise softmax of y with the diagonal (the positive) excluded: weight 0 there.
    With a single column there are no negatives and every weight is 0."""
    B, N = y.shape
    if N == 1:
        return torch.zeros_like(y)
    mask = torch.eye(B, N, dtype=torch.bool, device=y.device)
    return torch.softmax(y.masked_fill(mask, float("-inf")), dim=1)


def fused_loss(scores, loss, final_act, col_offset=None, bpreg=1.0, smoothing=0.0, scale=1.0):
    """GRU4Rec loss of raw scores (B x N, positives on the diagonal) times `scale`.

    col_offset (N,) is subtracted from every row first (logQ correction). Differentiable
    by autograd with respect to scores. With N == 1 smoothing has no effect (no other
    column to spread to) and the max-losses see no negatives.
    """
    loss = enums.parse_loss(loss)
    z = scores if col_offset is None or col_offset.numel() == 0 else scores - col_offset
    y = final_activation(z, final_act)
    B, N = y.shape
    idx = torch.arange(B, device=y.device)
    d = y[idx, idx]
    if N > 1 and smoothing > 0:
        w_pos, w_all = 1.0 - smoothing * N / (N - 1), smoothing / (N - 1)
    else:
        w_pos, w_all = 1.0, 0.0
    if loss == enums.LOSS_CROSS_ENTROPY:
        nll = -torch.log(y + _LOSS_EPS)
        total = w_pos * nll[idx, idx].sum()
        if w_all:
            total = total + w_all * nll.sum()
    elif loss == enums.LOSS_XE_LOGIT:
        total = w_pos * d.sum()
        if w_all:
            total = total + w_all * y.sum()
    elif loss == enums.LOSS_BPR:
        total = -F.logsigmoid(d[:, None] - y).sum()
    elif loss == enums.LOSS_BPR_MAX:
        s = _negative_softmax(y)
        total = (-torch.log((s * torch.sigmoid(d[:, None] - y)).sum(1) + _LOSS_EPS)
                 + bpreg * (s * y ** 2).sum(1)).sum()
    elif loss == enums.LOSS_TOP1:
        total = ((torch.sigmoid(y - d[:, None]) + torch.sigmoid(y ** 2)).mean(1)
                 - torch.sigmoid(d ** 2) / N).sum()
    elif loss == enums.LOSS_TOP1_MAX:
        s = _negative_softmax(y)
        total = (s * (torch.sigmoid(y - d[:, None]) + torch.sigmoid(y ** 2))).sum()
    else:
        raise ValueError(f"unknown loss code {loss}")
    return total * scale


def fused_loss_fwd_bwd(scores, loss, final_act, col_offset=None, bpreg=1.0, smoothing=0.0,
                       scale=1.0):
    """(loss, dloss/dscores) of `fused_loss` via autograd; scores are not modified."""
    x = scores.detach().requires_grad_(True)
    with torch.enable_grad():
        value = fused_loss(x, loss, final_act, col_offset, bpreg, smoothing, scale)
        (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


# end of fused_loss





# ==============================================================================
# sparse_row_update
# ==============================================================================

def sparse_row_update_(*args, **kwargs):
    raise NotImplementedError('reference sparse_row_update_')


# end of sparse_row_update





# ==============================================================================
# gru_step
# ==============================================================================

def gru_step(*args, **kwargs):
    raise NotImplementedError('reference gru_step')


# end of gru_step





# ==============================================================================
# eval_rank
# ==============================================================================

def eval_rank_counts(*args, **kwargs):
    raise NotImplementedError('reference eval_rank_counts')


# end of eval_rank





# ==============================================================================
# cdf_sample
# ==============================================================================

def cdf_sample(*args, **kwargs):
    raise NotImplementedError('reference cdf_sample')

def cdf_search(*args, **kwargs):
    raise NotImplementedError('reference cdf_search')


# end of cdf_sample



