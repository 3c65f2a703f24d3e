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

def sparse_row_update_(param, ids, grads, state, lr, momentum=0.0, lmbd=0.0, eps=1e-6,
                       adapt_params=None, deterministic=True):
    """Row-sparse optimiser step the way the authors' PyTorch port does it: build a
    sparse COO gradient, coalesce() it (sums duplicate ids), then gather/index_add_/
    index_copy_ on the coalesced row indices. Same math and arguments as
    gru4rec_fast.ops.sparse_row_update_ (state is a SparseRowState); in place."""
    from gru4rec_fast.ops.enums import resolve_adapt_params
    from gru4rec_fast.ops.sparse_row_update import SparseRowState
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
    if lmbd:
        u = u + lmbd * p[idx]   # L2 outside the adaptive scaling, as the original
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

def elementwise_activation(x, act):
    """Element-wise activation (hidden layers, evaluation scores) by enums.Activation,
    with plain torch ops."""
    if act.code == enums.ACT_LINEAR:
        return x
    if act.code == enums.ACT_RELU:
        return torch.relu(x)
    if act.code == enums.ACT_TANH:
        return torch.tanh(x)
    # `x > 0`, not `x >= 0`: the same values, and autograd then takes the negative
    # side's derivative at exactly 0, the kernels' one convention (as F.leaky_relu/F.elu).
    if act.code == enums.ACT_LEAKY:
        return torch.where(x > 0, x, act.a * x)
    if act.code == enums.ACT_ELU:
        return torch.where(x > 0, x, act.a * torch.expm1(x))
    if act.code == enums.ACT_SELU:
        return act.a * torch.where(x > 0, x, act.b * torch.expm1(x))
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
    c = elementwise_activation((h * r) @ Wh + vc, act)
    out = (1 - z) * h + z * c
    if keep_mask is not None:
        out = out * keep_mask
    return out


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
    if act.code in enums.ROWWISE_ACTS:  # strictly monotone per row: rank on the logits
        act = enums.parse_activation("linear")
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
        s = elementwise_activation(s, act)
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





# ==============================================================================
# topk_scores
# ==============================================================================

def topk_scores(H, W, b, k, candidates=None, exclude_offsets=None, exclude_ids=None,
                final_act="linear", tile_size=None):
    """Plain-PyTorch twin of ``gru4rec_fast.ops.topk_scores`` (same arguments and
    results; tile_size is ignored): the whole B x K score matrix, a stable sort by id
    then by logit (ties to the lower id), duplicates and exclusions masked out."""
    B, dev = H.shape[0], H.device
    n = W.shape[0]
    cols = torch.arange(n, device=dev) if candidates is None or candidates.numel() == 0 else candidates
    logits = H @ W[cols].T + b[cols]                                  # B x K
    scores = final_activation(logits, final_act)
    # columns in ascending id order, first copy of each id kept
    order = torch.argsort(cols, stable=True)
    cols_s, logits_s, scores_s = cols[order], logits[:, order], scores[:, order]
    first = torch.ones(len(cols_s), dtype=torch.bool, device=dev)
    first[1:] = cols_s[1:] != cols_s[:-1]
    valid = first.expand(B, -1).clone()
    valid &= ~torch.isnan(logits_s)
    if exclude_offsets is not None and exclude_ids is not None and exclude_ids.numel() > 0:
        rows = torch.repeat_interleave(torch.arange(B, device=dev), exclude_offsets.diff())
        hit = torch.zeros(B, n, dtype=torch.bool, device=dev)
        hit[rows, exclude_ids] = True
        valid &= ~hit[:, cols_s]
    key = torch.where(valid, logits_s, torch.full_like(logits_s, float("-inf")))
    rank = torch.argsort(key, dim=1, descending=True, stable=True)   # ties keep id order
    # invalid entries sort last (among real -inf logits too: put them after by validity)
    rank = torch.gather(rank, 1, torch.argsort((~torch.gather(valid, 1, rank)).to(torch.int8),
                                               dim=1, stable=True))
    kk = min(k, len(cols_s))
    top = rank[:, :kk]
    out_ids = torch.full((B, k), -1, dtype=torch.long, device=dev)
    out_sc = torch.full((B, k), float("nan"), dtype=H.dtype, device=dev)
    ok = torch.gather(valid, 1, top)
    out_ids[:, :kk] = torch.where(ok, cols_s[top], torch.full_like(top, -1))
    out_sc[:, :kk] = torch.where(ok, torch.gather(scores_s, 1, top),
                                 torch.full_like(top, float("nan"), dtype=H.dtype))
    return out_sc, out_ids


# end of topk_scores
