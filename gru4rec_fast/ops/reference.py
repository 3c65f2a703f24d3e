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

def sampled_scores(H, W, b, Y):
    """S = H @ W[Y].T + b[Y] (B x N) with plain autograd. The gathers W[Y] and b[Y]
    give W and b dense gradients (n x d zeros plus the gathered rows): the reference's
    way, which the fused op avoids."""
    return H @ W[Y].T + b[Y]


def sampled_scores_backward(dS, H, W, Y):
    """(dH, dW_rows, db_rows) for dS: dS @ W[Y], dS.T @ H (one row per column, duplicates
    not summed), dS.sum(0)."""
    return dS @ W[Y], dS.T @ H, dS.sum(0)


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

def sparse_row_update_(param, ids, grads, state, lr, momentum=0.0, lmbd=0.0, eps=1e-6,
                       adapt_params=None, deterministic=True):
    """Row-sparse optimiser step the way the authors' PyTorch port does it: build a
    sparse COO gradient, coalesce() it (sums duplicate ids), then gather/index_add_/
    index_copy_ on the coalesced row indices. Same math and arguments as
    gru4rec_fast.ops.sparse_row_update_ (state is a SparseRowState); in place."""
    from gru4rec_fast.ops.sparse_row_update import SparseRowState, resolve_adapt_params
    assert isinstance(state, SparseRowState)
    p1, p2 = resolve_adapt_params(state.optimizer, adapt_params)
    n = param.shape[0]
    p = param.view(n, -1)
    g_rows = grads.reshape(grads.shape[0], -1)
    as2d = lambda t: t.view(n, -1) if t.numel() > 0 else t  # noqa: E731
    s1, s2, vel = as2d(state.state1), as2d(state.state2), as2d(state.velocity)
    if ids.numel() == 0:
        return param
    g_sp = torch.sparse_coo_tensor(ids.unsqueeze(0), g_rows, p.shape,
                                   check_invariants=False).coalesce()
    idx, g = g_sp.indices()[0], g_sp.values()
    if lmbd:
        g = g + lmbd * p[idx]
    opt = state.optimizer
    if opt == enums.OPT_SGD:
        u = g
    elif opt == enums.OPT_ADAGRAD:
        s1.index_add_(0, idx, g * g)
        u = g / torch.sqrt(s1[idx] + eps)
    elif opt == enums.OPT_RMSPROP:
        acc = p1 * s1[idx] + (1 - p1) * g * g
        s1.index_copy_(0, idx, acc)
        u = g / torch.sqrt(acc + eps)
    elif opt == enums.OPT_ADAM:
        state.step_count.index_add_(0, idx, torch.ones_like(idx, dtype=p.dtype))
        t = state.step_count[idx].unsqueeze(1)
        m = p1 * s2[idx] + (1 - p1) * g
        v2 = p2 * s1[idx] + (1 - p2) * g * g
        s2.index_copy_(0, idx, m)
        s1.index_copy_(0, idx, v2)
        u = (m / (1 - p1 ** t)) / (torch.sqrt(v2 / (1 - p2 ** t)) + eps)
    elif opt == enums.OPT_ADADELTA:
        acc = p1 * s1[idx] + (1 - p1) * g * g
        s1.index_copy_(0, idx, acc)
        u = g * torch.sqrt(s2[idx] + eps) / torch.sqrt(acc + eps)
        s2.index_copy_(0, idx, p1 * s2[idx] + (1 - p1) * u * u)
    else:
        raise ValueError(f"unknown optimizer code {opt}")
    if momentum > 0:
        v_new = momentum * vel[idx] - lr * u
        vel.index_copy_(0, idx, v_new)
        p.index_add_(0, idx, v_new)
    else:
        p.index_add_(0, idx, -lr * u)
    return param


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



