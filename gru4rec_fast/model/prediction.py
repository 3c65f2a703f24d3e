"""Batch prediction: the top-k next items of every session of an event table
(``GRU4Rec.predict_next``), and the session-parallel pass it shares with
``GRU4Rec.session_embeddings``.

Sessions run in parallel slots exactly as in evaluation (the schedule of
``gru4rec_fast.data.schedule`` with every event, the last included, fed as an input),
through the model's backend (fused kernels by default); the ranking is the tiled
``topk_scores`` op, so no sessions x n_items score matrix exists beyond one tile.
"""
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from gru4rec_fast.data import DataError, read_events
from gru4rec_fast.data.errors import source_name
from gru4rec_fast.data._progress import bar
from gru4rec_fast.data.schedule import build_schedule
from gru4rec_fast.model.forward import forward_step, ops_module

RANK_COLUMN = "Rank"
SCORE_COLUMN = "Score"
POSITION_COLUMN = "Position"


class EventSessions(NamedTuple):
    """Known events grouped into sessions (CSR), sessions in input order."""
    items: np.ndarray        # int64 [n_events] item codes, session after session, time order
    offsets: np.ndarray      # int64 [n_sessions + 1]
    session_ids: np.ndarray  # [n_sessions] original session ids, first-appearance order

    @property
    def n_sessions(self):
        return len(self.offsets) - 1


def check_k(k, what):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{what}: k must be a positive integer, got {k!r}")
    return int(k)


def check_batch_size(batch_size, what):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{what}: batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def event_sessions(model, events, session_key, item_key, time_key, what):
    """Read and validate events, map items to codes and group them by session.

    Sessions keep the order of their first appearance in the input; a session's events
    are ordered by time (stable: equal times keep the input order). Events of items
    unknown to the model are skipped with one warning that counts them (a session with
    no known event left produces no output); if no event is left, DataError.
    """
    src = source_name(None if isinstance(events, pd.DataFrame) else events)
    df = read_events(events, session_key, item_key, time_key)
    sess = df[session_key].to_numpy()
    time = df[time_key].to_numpy()
    items = df[item_key].to_numpy()
    del df
    codes = np.asarray(model.item_index.map_items(items), dtype=np.int64)
    unknown = codes < 0
    if unknown.any():
        n_bad = int(unknown.sum())
        if n_bad == len(codes):
            raise DataError(f"{what}: {src}: none of the {len(codes)} events has an item known "
                            f"to the model (column {item_key!r}, e.g. {items[:3].tolist()})")
        bad = pd.unique(items[unknown])
        warnings.warn(f"{what}: {src}: skipped {n_bad} event(s) of {len(bad)} item id(s) unknown "
                      f"to the model (e.g. {bad[:5].tolist()})", stacklevel=3)
        keep = ~unknown
        sess, time, codes = sess[keep], time[keep], codes[keep]
    scode, suniq = pd.factorize(sess, sort=False)          # first-appearance order
    perm = np.lexsort((time, scode))                        # stable
    scode, codes = scode[perm], codes[perm]
    change = np.flatnonzero(scode[1:] != scode[:-1]) + 1
    offsets = np.concatenate(([0], change, [len(scode)])).astype(np.int64)
    return EventSessions(codes, offsets, np.asarray(suniq))


def _seen_csr(sessions, sess_idx, pos, device):
    """Exclusion CSR: row i excludes the items of session sess_idx[i] up to and
    including its event at position pos[i]."""
    lengths = pos + 1
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    starts = sessions.offsets[sess_idx]
    idx = np.arange(offsets[-1], dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
    return (torch.from_numpy(offsets).to(device),
            torch.from_numpy(sessions.items[idx]).to(device))


def run_sessions(model, sessions, batch_size, every_event, on_rows, progress=None, desc="predict"):
    """Feed every event of every session through the network, session-parallel.

    ``on_rows(H_last, sess_idx, pos)`` receives hidden states (the last layer's output,
    rows x d on the model's device) with, per row, the session index and the 0-based
    position of the event just fed: every row of every step with ``every_event``, else
    only the sessions' last events, gathered into chunks of up to ``batch_size`` rows.
    """
    lengths = np.diff(sessions.offsets)
    # One extra (never read) event per session: the schedule then makes a step for
    # every real event, the last included, as an input.
    offsets_ext = sessions.offsets + np.arange(len(sessions.offsets), dtype=np.int64)
    sched = build_schedule(offsets_ext, batch_size, min_slots=1)
    dev = model.device
    ins = np.asarray(sessions.items)[sessions.offsets[sched.session]
                                     + (sched.event - offsets_ext[sched.session])]
    sess_all = np.asarray(sched.session, dtype=np.int64)
    pos_all = np.asarray(sched.event, dtype=np.int64) - offsets_ext[sess_all]
    last_all = pos_all == lengths[sess_all] - 1
    ins_t = torch.from_numpy(ins.astype(np.int64)).to(dev)
    resets = torch.from_numpy(np.ascontiguousarray(sched.reset)).to(dev)
    prev = torch.from_numpy(sched.prev_row.astype(np.int64)).to(dev)
    offs = sched.step_offsets
    H = [torch.zeros(int(sched.n_live[0]) if sched.n_steps else 0, d, dtype=model.dtype, device=dev)
         for d in model.hyper["layers"]]
    pend_h, pend_s, pend_p, n_pend = [], [], [], 0

    def flush():
        nonlocal pend_h, pend_s, pend_p, n_pend
        if n_pend:
            on_rows(torch.cat(pend_h), np.concatenate(pend_s), np.concatenate(pend_p))
        pend_h, pend_s, pend_p, n_pend = [], [], [], 0

    for t in bar(range(sched.n_steps), progress=progress, desc=desc, unit="mb", leave=False):
        a, b = int(offs[t]), int(offs[t + 1])
        if sched.shrink[t]:
            H = [h.index_select(0, prev[a:b]) for h in H]
        H = forward_step(model.weights, model.hyper, ins_t[a:b], H, reset=resets[a:b],
                         backend=model.backend)
        if every_event:
            on_rows(H[-1], sess_all[a:b], pos_all[a:b])
            continue
        rows = np.flatnonzero(last_all[a:b])
        if len(rows):
            pend_h.append(H[-1].index_select(0, torch.from_numpy(rows).to(dev)))
            pend_s.append(sess_all[a:b][rows])
            pend_p.append(pos_all[a:b][rows])
            n_pend += len(rows)
            if n_pend >= batch_size:
                flush()
    flush()


def candidate_codes(model, candidates, what):
    """Sorted distinct codes of candidate item ids as a tensor on the model's device, or
    None (all items). Unknown ids raise ValueError naming some of them."""
    if candidates is None:
        return None
    codes = model._codes(list(candidates), f"{what} candidates")
    if len(codes) == 0:
        raise ValueError(f"{what}: candidates is empty")
    return torch.from_numpy(np.unique(codes)).to(model.device)


@torch.no_grad()
def predict_next(model, events, k=20, candidates=None, exclude_seen=False, every_event=False,
                 session_key="SessionId", item_key="ItemId", time_key="Time", batch_size=512,
                 progress=None):
    """The top-k next items of every session in ``events``; see ``GRU4Rec.predict_next``."""
    what = "predict_next"
    model._check_trained(what)
    k = check_k(k, what)
    batch_size = check_batch_size(batch_size, what)
    cand = candidate_codes(model, candidates, what)
    sessions = event_sessions(model, events, session_key, item_key, time_key, what)
    n_cols = model.n_items if cand is None else int(cand.numel())
    kk = min(k, n_cols)                      # k beyond the catalogue: every item, ranked
    n_out = len(sessions.items) if every_event else sessions.n_sessions
    out_codes = np.full((n_out, kk), -1, dtype=np.int64)
    out_scores = np.full((n_out, kk), np.nan, dtype=np.float32 if model.dtype == torch.float32
                         else np.float64)
    ops = ops_module(model.backend)
    w, act = model.weights, model.hyper["final_act"]

    def on_rows(h, sess_idx, pos):
        excl = _seen_csr(sessions, sess_idx, pos, model.device) if exclude_seen else (None, None)
        scores, codes = ops.topk_scores(h, w["Wy"], w["By"], kk, candidates=cand,
                                        exclude_offsets=excl[0], exclude_ids=excl[1],
                                        final_act=act)
        dest = sessions.offsets[sess_idx] + pos if every_event else sess_idx
        out_codes[dest] = codes.cpu().numpy()
        out_scores[dest] = scores.cpu().numpy()

    run_sessions(model, sessions, batch_size, every_event, on_rows, progress=progress)

    valid = out_codes >= 0                    # exclude_seen can leave fewer than k
    n_valid = valid.sum(1)
    row_of = np.repeat(np.arange(n_out), n_valid)
    flat_codes = out_codes[valid]
    lengths = np.diff(sessions.offsets)
    if every_event:
        sess_of_row = np.repeat(np.arange(sessions.n_sessions), lengths)
        pos_of_row = np.arange(n_out) - np.repeat(sessions.offsets[:-1], lengths)
    else:
        sess_of_row = np.arange(n_out)
        pos_of_row = None
    cols = {session_key: sessions.session_ids[sess_of_row[row_of]]}
    if every_event:
        cols[POSITION_COLUMN] = pos_of_row[row_of]
    rank = np.arange(kk)[None, :].repeat(n_out, 0)[valid] + 1
    cols[RANK_COLUMN] = rank
    cols[item_key] = model.item_index.ids[flat_codes]
    cols[SCORE_COLUMN] = out_scores[valid]
    return pd.DataFrame(cols)
