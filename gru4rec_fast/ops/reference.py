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

def gru_step(*args, **kwargs):
    raise NotImplementedError('reference gru_step')


# end of gru_step





# ==============================================================================
# eval_rank
# ==============================================================================

_MASK64 = (1 << 64) - 1


def _i64(value):
    """A uint64 constant as the signed int64 torch stores (two's complement)."""
    value &= _MASK64
    return value - (1 << 64) if value >= (1 << 63) else value


def _shr(x, bits):
    """Logical right shift of int64 tensors holding uint64 bit patterns."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix64(x):
    """csrc/common/random.h mix64 on int64 tensors (wrapping multiply)."""
    x = x ^ _shr(x, 33)
    x = x * _i64(0xFF51AFD7ED558CCD)
    x = x ^ _shr(x, 33)
    x = x * _i64(0xC4CEB9FE1A85EC53)
    return x ^ _shr(x, 33)


def eval_noise_uniform(seed, rows, items, dtype):
    """The tie-breaking uniforms u(seed, row, item) of eval_rank_counts, [len(rows), len(items)].

    Same hash as csrc/common/random.h: key = mix64(mix64(seed ^ C) ^ row), bits =
    mix64(key ^ item); u = top 24 bits * 2^-24 (float32) or top 53 bits * 2^-53 (float64).
    """
    dev = rows.device
    seed_t = torch.tensor(_i64(int(seed)) ^ _i64(0x243F6A8885A308D3), dtype=torch.long, device=dev)
    keys = _mix64(_mix64(seed_t) ^ rows.long())
    bits = _mix64(keys[:, None] ^ items.long()[None, :])
    if dtype == torch.float32:
        return _shr(bits, 40).to(torch.float32) * (2.0 ** -24)
    return _shr(bits, 11).to(torch.float64) * (2.0 ** -53)


def eval_rank_counts(H, W, b, targets, candidates=None, final_act="linear", noise_scale=0.0,
                     noise_seed=0, chunk_size=None):
    """Plain-PyTorch ranking counts: (n_greater, n_equal) int64 [B] each.

    Scores act(H @ W[cols].T + b[cols]) (+ noise) chunk by chunk over the columns. The
    target scores are read from the very same matrix chunks: with candidates the
    columns are candidates followed by the targets (row i's target is column K + i),
    otherwise all items. The target's own column is excluded from the counts and the
    target counted once in n_equal, like the fused op. Row-wise final activations rank
    on raw logits.
    """
    act = enums.parse_activation(final_act)
    code = enums.ACT_LINEAR if act.code in enums.ROWWISE_ACTS else act.code
    B, n = H.shape[0], W.shape[0]
    dev = H.device
    targets = targets.long()
    rows = torch.arange(B, device=dev)
    has_cand = candidates is not None and candidates.numel() > 0
    if has_cand:
        cols = torch.cat([candidates.long(), targets])
        n_count = candidates.numel()
        tpos = n_count + rows
    else:
        cols = torch.arange(n, device=dev)
        n_count = n
        tpos = targets
    if chunk_size is None:
        chunk_size = max(1, (1 << 26) // max(B, 1))
    starts = list(range(0, cols.numel(), chunk_size))

    def scores(start):
        c = cols[start:start + chunk_size]
        s = H @ W[c].T + b[c]
        s = _eval_act(s, code, act.a, act.b)
        if noise_scale > 0:
            s = s + torch.tensor(noise_scale, dtype=s.dtype) * eval_noise_uniform(noise_seed, rows, c, s.dtype)
        return c, s

    tscore = torch.empty(B, dtype=H.dtype, device=dev)
    cache = {}
    for start in starts:  # pass 1: the target columns
        sel = (tpos >= start) & (tpos < start + chunk_size)
        if len(starts) == 1 or bool(sel.any()):
            c, s = scores(start)
            if len(starts) == 1:
                cache[start] = (c, s)
            tscore[sel] = s[rows[sel], tpos[sel] - start]
    greater = torch.zeros(B, dtype=torch.long, device=dev)
    equal = torch.zeros(B, dtype=torch.long, device=dev)
    for start in starts:  # pass 2: the comparisons
        if start >= n_count:
            break
        c, s = cache.pop(start) if start in cache else scores(start)
        keep = min(n_count - start, c.numel())
        c, s = c[:keep], s[:, :keep]
        other = c[None, :] != targets[:, None]
        greater += ((s > tscore[:, None]) & other).sum(1)
        equal += ((s == tscore[:, None]) & other).sum(1)
    return greater, equal + 1


def _eval_act(x, code, a, b):
    if code == enums.ACT_RELU:
        return torch.relu(x)
    if code == enums.ACT_TANH:
        return torch.tanh(x)
    if code == enums.ACT_LEAKY:
        return torch.where(x >= 0, x, a * x)
    if code == enums.ACT_ELU:
        return torch.where(x >= 0, x, a * (torch.exp(x) - 1))
    if code == enums.ACT_SELU:
        return torch.where(x >= 0, a * x, a * b * (torch.exp(x) - 1))
    return x


# end of eval_rank





# ==============================================================================
# cdf_sample
# ==============================================================================

def cdf_sample(cdf, k, generator=None):
    """k ids drawn by inverse CDF with torch's own generator: searchsorted(cdf, rand(k))."""
    u = torch.rand(k, generator=generator, dtype=cdf.dtype, device=cdf.device)
    return cdf_search(cdf, u)


def cdf_search(cdf, uniforms):
    """torch.searchsorted(cdf, u) (side='left'), clamped to n-1."""
    return torch.searchsorted(cdf, uniforms).clamp_(max=cdf.numel() - 1)


# end of cdf_sample



