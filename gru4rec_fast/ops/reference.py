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

def fused_loss(*args, **kwargs):
    raise NotImplementedError('reference fused_loss')

def fused_loss_fwd_bwd(*args, **kwargs):
    raise NotImplementedError('reference fused_loss_fwd_bwd')


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

def _hidden_activation(x, act):
    """Element-wise hidden activation by enums.Activation, with plain torch ops."""
    if act.code == enums.ACT_LINEAR:
        return x
    if act.code == enums.ACT_RELU:
        return torch.relu(x)
    if act.code == enums.ACT_TANH:
        return torch.tanh(x)
    if act.code == enums.ACT_LEAKY:
        return torch.where(x >= 0, x, act.a * x)
    if act.code == enums.ACT_ELU:
        return torch.where(x >= 0, x, act.a * torch.expm1(x))
    if act.code == enums.ACT_SELU:
        return act.a * torch.where(x >= 0, x, act.b * torch.expm1(x))
    raise ValueError(f"'{act.name}' is not a hidden activation")


def gru_step(vx, h, Wrz, Wh, reset=None, keep_mask=None, act="tanh"):
    """One GRU layer step (the paper's form), plain torch ops and autograd.

    vx: B x 3d ([candidate | r | z]); h: B x d; Wrz: d x 2d ([r | z]); Wh: d x d;
    reset: None or (B,) bool/uint8 (true rows start from h = 0); keep_mask: None or
    B x d inverted-dropout mask applied to the output; act: hidden activation name.
    Returns out (B x d), also the next hidden state.
    """
    act = enums.parse_activation(act, hidden=True)
    d = Wh.shape[0]
    if reset is not None:
        h = h * (~reset.bool()).unsqueeze(1).to(h.dtype)
    vc, vr, vz = vx[:, :d], vx[:, d:2 * d], vx[:, 2 * d:]
    hrz = h @ Wrz
    r = torch.sigmoid(vr + hrz[:, :d])
    z = torch.sigmoid(vz + hrz[:, d:])
    c = _hidden_activation((h * r) @ Wh + vc, act)
    out = (1 - z) * h + z * c
    if keep_mask is not None:
        out = out * keep_mask
    return out


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



