"""Synthetic session click logs with a realistic shape and real sequential structure.

Model (all vectorised; the only Python loop is over positions within a session):
  * popularity: Zipf-like weights w_r = (r + 10)^(-zipf_a) over a random ranking of items;
  * clusters: items fall into ``n_clusters`` latent topics;
  * transitions: every item has ``n_successors`` successors drawn from its own cluster by
    popularity, used with rank weights (k+1)^-1.2. The next item of a session is, with
    probability ``p_successor``, a successor of the current item; with ``p_cluster`` a
    popular item of the current item's cluster; otherwise a globally popular item.
    The first item of a session is a globally popular item. Immediate repeats are
    redrawn once from the global popularity (preprocessed data has none).
  * session lengths: ``min_session_length`` + geometric, mean ``mean_session_length``,
    capped at ``max_session_length``; the log has exactly ``n_events`` events;
  * time: session starts uniform over ``n_days`` days, gaps within a session
    1 + exponential(60 s) seconds. Session ids ascend with session start.

A first-order Markov predictor thus beats most-popular by a wide margin (tested), which
is what lets a GRU learn here. Deterministic for a given seed.
"""
import math

import numpy as np
import pandas as pd

from ._progress import bar
from .splitting import time_split

# Approximate shapes of the public data sets after the study's preprocessing (docs/algorithm.md).
PRESETS = {
    "tiny": dict(n_events=10_000, n_items=500, mean_session_length=4.0, n_days=14,
                 test_days=1),
    "small": dict(n_events=200_000, n_items=5_000, mean_session_length=4.5, n_days=30,
                  test_days=1),
    "diginetica-like": dict(n_events=1_000_000, n_items=43_000, mean_session_length=4.9,
                            n_days=152, test_days=7),
    "retailrocket-like": dict(n_events=1_100_000, n_items=37_000, mean_session_length=3.4,
                              n_days=137, test_days=7),
    "coveo-like": dict(n_events=1_400_000, n_items=32_000, mean_session_length=5.0,
                       n_days=20, test_days=1),
    "yoochoose-like": dict(n_events=30_000_000, n_items=37_500, mean_session_length=4.0,
                           n_days=182, test_days=1),
    "rees46-like": dict(n_events=40_000_000, n_items=170_000, mean_session_length=5.5,
                        n_days=61, test_days=1),
}

START_TIME = 1_420_070_400  # 2015-01-01 00:00:00 UTC


def _cluster_sampler(pop, cluster, n_clusters):
    """Arrays to draw popularity-weighted items within a cluster."""
    corder = np.argsort(cluster, kind="stable")
    ccum = np.cumsum(pop[corder])
    sizes = np.bincount(cluster, minlength=n_clusters)
    end = np.cumsum(sizes)
    startpos = end - sizes
    base = np.where(startpos > 0, ccum[np.maximum(startpos - 1, 0)], 0.0)
    total = np.where(sizes > 0, ccum[np.maximum(end - 1, 0)] - base, 0.0)
    return corder, ccum, base, total, end


def _draw_in_cluster(rng, c, sampler):
    corder, ccum, base, total, end = sampler
    u = base[c] + rng.random(len(c)) * total[c]
    idx = np.searchsorted(ccum, u, side="right")
    idx = np.minimum(idx, end[c] - 1)
    return corder[idx]


def generate(n_events, n_items, seed=0, mean_session_length=4.0, min_session_length=2,
             max_session_length=200, n_days=30, zipf_a=1.0, n_clusters=None,
             n_successors=8, p_successor=0.6, p_cluster=0.25, progress=None,
             **_ignored):
    """A DataFrame (SessionId int64, ItemId int64, Time int64 seconds) of exactly
    ``n_events`` events over at most ``n_items`` items; see the module doc."""
    n_events = int(n_events)
    n_items = int(n_items)
    if n_events < 1 or n_items < 2:
        raise ValueError("generate: need n_events >= 1 and n_items >= 2")
    if not mean_session_length > min_session_length - 1:
        raise ValueError("generate: mean_session_length must exceed min_session_length - 1")
    rng = np.random.default_rng(seed)
    # popularity (a continuous Zipf over ranks: closed-form inverse CDF) and clusters
    za = float(zipf_a)
    ranks = rng.permutation(n_items)              # ranks[item]
    item_of_rank = np.argsort(ranks)
    pop = (ranks + 10.0) ** (-za)

    def _F(x):                                    # integral of (r + 10)^-a from 0 to x
        return np.log1p(x / 10.0) if abs(za - 1.0) < 1e-9 else \
            ((x + 10.0) ** (1.0 - za) - 10.0 ** (1.0 - za)) / (1.0 - za)

    f_total = float(_F(np.float64(n_items)))

    def global_draw(k):
        y = rng.random(k) * f_total
        if abs(za - 1.0) < 1e-9:
            x = 10.0 * np.expm1(y)
        else:
            x = (y * (1.0 - za) + 10.0 ** (1.0 - za)) ** (1.0 / (1.0 - za)) - 10.0
        r = np.minimum(x.astype(np.int64), n_items - 1)
        return item_of_rank[r]

    if n_clusters is None:
        n_clusters = max(1, n_items // 100)
    cluster = rng.integers(0, n_clusters, size=n_items)
    sampler = _cluster_sampler(pop, cluster, n_clusters)

    item_dtype = np.int32
    succ = np.empty((n_items, n_successors), dtype=item_dtype)
    for k in range(n_successors):
        succ[:, k] = _draw_in_cluster(rng, cluster, sampler)
    # successor rank k ~ (k+1)^-1.2, drawn through a 4096-entry lookup table
    sw = (np.arange(n_successors) + 1.0) ** -1.2
    k_table = np.minimum(np.searchsorted(np.cumsum(sw) / sw.sum(),
                                         (np.arange(4096) + 0.5) / 4096, side="right"),
                         n_successors - 1).astype(np.int64)

    # session lengths: exactly n_events in total
    p = 1.0 / (mean_session_length - min_session_length + 1.0)
    est = int(math.ceil(n_events / mean_session_length * 1.1)) + 2
    lengths = np.empty(0, dtype=np.int64)
    while lengths.sum() < n_events:
        more = min_session_length - 1 + rng.geometric(p, size=est)
        lengths = np.concatenate((lengths, np.minimum(more, max_session_length)))
    cum = np.cumsum(lengths)
    n_sess = int(np.searchsorted(cum, n_events)) + 1
    lengths = lengths[:n_sess]
    lengths[-1] -= int(cum[n_sess - 1] - n_events)
    offsets = np.zeros(n_sess + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])

    # items, position by position over the sessions still running
    by_len = np.argsort(-lengths, kind="stable")
    sorted_len = lengths[by_len]
    starts = offsets[:-1][by_len]
    items = np.empty(n_events, dtype=item_dtype)
    cur = global_draw(n_sess).astype(item_dtype)
    items[starts] = cur
    max_len = int(sorted_len[0])
    # number of sessions longer than pos, for every pos
    n_active_at = n_sess - np.searchsorted(sorted_len[::-1], np.arange(max_len), side="right")
    for pos in bar(range(1, max_len), progress=progress if n_events >= 5_000_000 else False,
                   desc="generate", unit="pos"):
        a = int(n_active_at[pos])
        if a == 0:
            break
        cur = cur[:a]
        r = rng.random(a)
        nxt = np.empty(a, dtype=item_dtype)
        m_s = r < p_successor
        m_c = (~m_s) & (r < p_successor + p_cluster)
        m_g = ~(m_s | m_c)
        ks = k_table[rng.integers(0, 4096, size=int(m_s.sum()))]
        nxt[m_s] = succ[cur[m_s], ks]
        nxt[m_c] = _draw_in_cluster(rng, cluster[cur[m_c]], sampler)
        nxt[m_g] = global_draw(int(m_g.sum()))
        rep = nxt == cur
        if rep.any():
            nxt[rep] = global_draw(int(rep.sum()))
        items[starts[:a] + pos] = nxt
        cur = nxt

    # time
    span = float(n_days) * 86400.0
    sess_start = np.sort(rng.random(n_sess) * span).astype(np.int64) + START_TIME
    gaps = 1 + rng.exponential(60.0, size=n_events).astype(np.int64)
    gaps[offsets[:-1]] = 0
    within = np.cumsum(gaps)
    within -= np.repeat(within[offsets[:-1]], lengths)
    time = np.repeat(sess_start, lengths) + within
    session_id = np.repeat(np.arange(1, n_sess + 1, dtype=np.int64), lengths)
    return pd.DataFrame({"SessionId": session_id, "ItemId": items.astype(np.int64) + 1,
                         "Time": time})


def split(df, test_days=1, session_key="SessionId", item_key="ItemId", time_key="Time"):
    """(train, test): sessions starting in the last ``test_days`` days go to test (see
    splitting.time_split)."""
    return time_split(df, test_days, session_key, item_key, time_key)


def preset(name, seed=0, split_data=True, **overrides):
    """Generate a named preset (see PRESETS); returns (train, test) when ``split_data``,
    else the whole log."""
    if name not in PRESETS:
        raise ValueError(f"unknown synthetic preset {name!r}; choose from {sorted(PRESETS)}")
    params = dict(PRESETS[name])
    params.update(overrides)
    test_days = params.pop("test_days")
    df = generate(seed=seed, **params)
    return split(df, test_days) if split_data else df


def turnover_periods(seed=0, n_events=40_000, n_items=800, n_new=160, n_days=30,
                     period_days=(20, 25)):
    """Three periods of a synthetic log with catalogue turnover, for continued-training
    checks: sessions are split by start day at ``period_days`` (default days 0-20, 20-25,
    25-30), and from period 2 on ``n_new`` random items are replaced by new ids (old id +
    10**9; a relaunched product under a new SKU, same behaviour). Returns
    (period1, period2, period3, new_ids)."""
    df = generate(n_events=n_events, n_items=n_items, seed=seed, n_days=n_days)
    first = df.groupby("SessionId").Time.transform("min")
    day = ((first - first.min()) / 86400).to_numpy()
    a, b = period_days
    new = np.random.default_rng(seed).choice(df.ItemId.unique(), size=n_new, replace=False)
    shift = 10 ** 9

    def relabel(d):
        return d.assign(ItemId=np.where(np.isin(d.ItemId, new), d.ItemId + shift, d.ItemId))

    return (df[day < a].reset_index(drop=True), relabel(df[(day >= a) & (day < b)]).reset_index(drop=True),
            relabel(df[day >= b]).reset_index(drop=True), new + shift)


def transitions_into(events, items, session_key="SessionId", item_key="ItemId", time_key="Time"):
    """Every transition (previous item -> item in ``items``) of ``events`` as its own
    2-event session (ids 0, 1, ...), to measure how well a model predicts those items."""
    ev = events.sort_values([session_key, time_key], kind="stable")
    prev = ev.groupby(session_key)[item_key].shift(1)
    m = (np.isin(ev[item_key], items) & prev.notna()).to_numpy()
    k = int(m.sum())
    pairs = np.column_stack([prev[m].to_numpy().astype(ev[item_key].dtype), ev[item_key].to_numpy()[m]])
    return pd.DataFrame({session_key: np.repeat(np.arange(k), 2), item_key: pairs.ravel(),
                         time_key: np.tile([0, 1], k)})
