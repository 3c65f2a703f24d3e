"""Next-item evaluation (docs/algorithm.md, Evaluation): recall@N and MRR@N over all items.

Every test event but each session's last is scored against all items (or a candidate
list) with the hidden state that starts at zero for each test session; the true next
item's rank is counted by the fused ``eval_rank_counts`` (no batch x n_items score
matrix), on the model's device, session-parallel with ``batch_size`` slots.
"""
from collections import OrderedDict

import numpy as np
import torch

from gru4rec_fast import cpu_threads
from gru4rec_fast.model.forward import forward_step, ops_module
from gru4rec_fast.model.training import EpochTensors
from gru4rec_fast.ops.enums import RANK_MODES

MODES = RANK_MODES
TIEBREAK_NOISE = 1e-10


def _check_cutoffs(cutoffs):
    if isinstance(cutoffs, (int, np.integer)) and not isinstance(cutoffs, bool):
        cutoffs = [cutoffs]
    try:
        cutoffs = list(cutoffs)
    except TypeError:
        raise ValueError(f"cutoffs must be a positive integer or a list of them, got {cutoffs!r}") from None
    if not cutoffs:
        raise ValueError("cutoffs is empty; give at least one, e.g. (20,)")
    for c in cutoffs:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
            raise ValueError(f"cutoffs must be positive integers, got {c!r}")
    return [int(c) for c in cutoffs]


@torch.inference_mode()
def evaluate(model, test_data, cutoffs=(20,), mode="standard", batch_size=512, items=None,
             session_key="SessionId", item_key="ItemId", time_key="Time", progress=None):
    """Recall@N and MRR@N of a trained model on test data.

    Args:
        model: a trained GRU4Rec.
        test_data: DataFrame, file path (or a SessionDataset built on the model's item
            index). Events of items unknown to the model are dropped, then sessions
            shorter than 2 (docs/algorithm.md, Data).
        cutoffs: N values (e.g. (1, 5, 10, 20)).
        mode: tie handling: "standard" (1 + #greater), "conservative" (#greater-or-equal),
            "median" (1 + #greater + (#equal - 1) / 2) or "tiebreaking" (1e-10 uniform
            noise, then standard).
        batch_size: session-parallel slots (any test size works, also fewer sessions).
        items: optional item ids to rank against (default: all items); ids unknown to
            the model are ignored.
    Returns:
        {"recall": {N: float}, "mrr": {N: float}, "n_events": int} (n_events = the number of
        ranked events).
    """
    from gru4rec_fast.data._progress import bar
    if getattr(model, "weights", None) is None:
        raise RuntimeError("evaluate: the model is not trained; call fit() or GRU4Rec.load() first")
    if mode not in MODES:
        raise ValueError(f"evaluate: unknown mode {mode!r}; valid: {', '.join(MODES)}")
    cutoffs = _check_cutoffs(cutoffs)
    cpu_threads.apply_default()         # docs/threads.md, unless the user chose (once per process)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"evaluate: batch_size must be a positive integer, got {batch_size!r}")
    ds = model._as_dataset(test_data, session_key, item_key, time_key,
                           item_index=model.item_index)
    dev = model.device
    w = model.weights
    cand = None
    if items is not None:
        codes = np.asarray(model.item_index.map_items(np.asarray(list(items))), dtype=np.int64)
        codes = np.unique(codes[codes >= 0])
        if len(codes) == 0:
            raise ValueError("evaluate: none of the given items is known to the model")
        cand = torch.from_numpy(codes).to(dev)
    ops = ops_module(model.backend)
    # ranks_from_counts is plain torch (no kernel); one definition for both backends
    from gru4rec_fast.ops.eval_rank import ranks_from_counts
    sched = ds.schedule(int(batch_size), min_slots=1)
    ep = EpochTensors.from_schedule(sched, dev)
    offs = ep.offsets.tolist()
    shrink = ep.shrink.tolist()
    layers = model.hyper["layers"]
    B0 = int(sched.n_live[0]) if sched.n_steps else 0
    H = [torch.zeros(B0, d, dtype=model.dtype, device=dev) for d in layers]
    cut = torch.tensor(cutoffs, dtype=torch.float64, device=dev)
    hits = torch.zeros(len(cutoffs), dtype=torch.float64, device=dev)
    rr = torch.zeros(len(cutoffs), dtype=torch.float64, device=dev)
    noise = TIEBREAK_NOISE if mode == "tiebreaking" else 0.0
    rank_mode = "standard" if mode == "tiebreaking" else mode
    for t in bar(range(sched.n_steps), progress=progress, desc="evaluate", unit="mb", leave=False):
        a, b = offs[t], offs[t + 1]
        if shrink[t]:
            keep = ep.prev[a:b]
            H = [h.index_select(0, keep) for h in H]
        H = forward_step(w, model.hyper, ep.ins[a:b], H, reset=ep.resets[a:b], backend=model.backend)
        ng, ne = ops.eval_rank_counts(H[-1], w["Wy"], w["By"], ep.outs[a:b], candidates=cand,
                                      final_act=model.hyper["final_act"], noise_scale=noise,
                                      noise_seed=t)
        ranks = ranks_from_counts(ng, ne, rank_mode).to(torch.float64).unsqueeze(1)
        inside = ranks <= cut
        hits += inside.sum(0)
        # inside / ranks is 1 / rank (the same division) within the cutoff and 0 beyond
        # it, so the per-step sums, and the results, are those of a where() bit for bit.
        rr += (inside / ranks).sum(0)
    n = sched.n_entries
    hits, rr = hits.cpu().numpy(), rr.cpu().numpy()
    return {"recall": OrderedDict((c, float(hits[i] / n) if n else 0.0) for i, c in enumerate(cutoffs)),
            "mrr": OrderedDict((c, float(rr[i] / n) if n else 0.0) for i, c in enumerate(cutoffs)),
            "n_events": int(n)}


def popularity_ranks(supports, targets):
    """Standard ranks of targets under the popularity baseline (score = training support)."""
    s = np.sort(np.asarray(supports))
    return 1 + len(s) - np.searchsorted(s, np.asarray(supports)[targets], side="right")
