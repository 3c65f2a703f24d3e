"""The session-parallel mini-batch schedule of a whole epoch, as arrays (docs/algorithm.md).

Semantics (the reference iteration, stated slot by slot)
--------------------------------------------------------
``batch_size`` = B slots. Sessions are taken in *session order* (``order``, default
0..n_sessions-1). At the start slot s = 0..min(B, n_sessions)-1 takes session s.
Before every step the batch is *settled*:

  repeat: F = the live slots whose session has no next event, in ascending slot order.
          If F is empty, stop. Otherwise the slots of F take the next unused sessions, one
          each, in order; when unused sessions run out, the rest of F are *dropped*.
          (A slot that receives a session of length 1 is in F again in the next round,
          which is how the reference treats length-1 sessions: they take a slot for a
          moment and produce no step.)

Then, if fewer than ``min_slots`` slots are live, the epoch ends (``min_slots=1``: when
no slot is left; ``min_slots=2``: training with n_sample=0, as in the reference). Else
the step is made: live slot s feeds its session's current item as input and the next
item as target, and advances by one event.

Rows. A step's live slots are its rows 0..n_live-1 in ascending slot order, so dropping
slots *compacts* the batch and keeps the survivors' relative order. A slot keeps its row
position until a slot before it is dropped. Hidden state follows with
``H_in = H_prev_out[prev_row]`` followed by zeroing the rows where ``reset`` is set;
``prev_row`` is the identity except on shrink steps, so the gather can be skipped there.

Arrays (E = total (step, row) entries = sum over steps of n_live)
  step_offsets int64 [n_steps+1]  entries of step t are [step_offsets[t], step_offsets[t+1])
  n_live       int32 [n_steps]    live slots (rows) in step t; nonincreasing
  in_items     [E]  item code fed as input        (when ``items`` was given)
  out_items    [E]  item code of the target        (when ``items`` was given)
  event        [E]  index of the input event in the data (target event = event + 1)
  session      [E]  index of the session (into the data's sessions, not the order)
  reset        bool [E]  the row's session started at this step (hidden state to zero);
                         all True at step 0
  prev_row     int32 [E]  row of the same slot in step t-1 (-1 at step 0)
  shrink       bool [n_steps]  n_live[t] < n_live[t-1] (prev_row is not the identity)

Only the slot assignment (which slot takes which session at which step) is a sequential
recurrence; it is computed by :func:`assign_slots` with a loop over steps (numpy over
the slots) or over sessions (plain Python, for small batches), never over events.
Everything else is vectorised.
"""
import numpy as np

_NUMPY_LOOP_MIN_BATCH = 96   # from here on the per-step numpy loop beats the per-session one


def assign_slots(lengths, batch_size, method="auto"):
    """Slot and start step of every session (in session order) under the settle rule.

    ``lengths``: events per session, in session order (>= 1 each).
    Returns ``(start, slot, death)``: int64 [n] step at which session j enters its slot
    (its first step if it has 2+ events), int64 [n] the slot, and int64 [m] for each of the
    m = min(B, n) slots the step before which it is dropped (it is live in steps
    0..death-1).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    m = min(int(batch_size), n)
    d = lengths - 1                       # steps a session produces
    if n == 0:
        z = np.zeros(0, np.int64)
        return z, z.copy(), z.copy()
    if (d < 0).any():
        raise ValueError("assign_slots: session lengths must be >= 1")
    if method == "auto":
        method = "numpy" if m >= _NUMPY_LOOP_MIN_BATCH else "python"
    if method == "numpy":
        start, slot = _assign_numpy(d, m)
    elif method == "python":
        start, slot = _assign_python(d, m)
    else:
        raise ValueError(f"assign_slots: unknown method {method!r}")
    death = np.zeros(m, dtype=np.int64)
    np.maximum.at(death, slot, start + d)
    return start, slot, death


def _assign_numpy(d, m):
    """One numpy round per (step, settle round): O(m) work per round."""
    n = len(d)
    end = np.zeros(m, dtype=np.int64)     # step at which each slot needs a new session
    start = np.empty(n, dtype=np.int64)
    slot = np.empty(n, dtype=np.int64)
    j = 0
    while j < n:
        t = end.min()
        free = np.flatnonzero(end == t)   # ascending slots: the settle order
        k = min(len(free), n - j)
        free = free[:k]
        start[j:j + k] = t
        slot[j:j + k] = free
        end[free] = t + d[j:j + k]        # length-1 sessions: free again at t (next round)
        j += k
    return start, slot


def _assign_python(d, m):
    """Bucket queue over steps, one plain-Python iteration per session."""
    n = len(d)
    dl = d.tolist()
    start = [0] * n
    slot = [0] * n
    buckets = {0: list(range(m))}
    j = 0
    t = 0
    while j < n:
        free = buckets.pop(t, None)
        while free and j < n:
            free.sort()
            again = []
            for s in free:
                if j >= n:
                    break
                start[j] = t
                slot[j] = s
                dj = dl[j]
                j += 1
                if dj:
                    b = buckets.get(t + dj)
                    if b is None:
                        buckets[t + dj] = [s]
                    else:
                        b.append(s)
                else:
                    again.append(s)
            free = again
        t += 1
    return np.asarray(start, dtype=np.int64), np.asarray(slot, dtype=np.int64)


class Schedule:
    """A whole epoch's session-parallel schedule; see the module doc for the layout."""

    def __init__(self, batch_size, min_slots, step_offsets, n_live, event, session, reset,
                 prev_row, in_items=None, out_items=None):
        self.batch_size = batch_size
        self.min_slots = min_slots
        self.step_offsets = step_offsets
        self.n_live = n_live
        self.event = event
        self.session = session
        self.reset = reset
        self.prev_row = prev_row
        self.in_items = in_items
        self.out_items = out_items
        self.shrink = np.zeros(len(n_live), dtype=bool)
        if len(n_live) > 1:
            self.shrink[1:] = n_live[1:] < n_live[:-1]

    @property
    def n_steps(self):
        return len(self.n_live)

    @property
    def n_entries(self):
        return int(self.step_offsets[-1])

    def step(self, t):
        """(in_items, out_items, reset, prev_row or None) of step t; prev_row is None when
        the rows are those of step t-1 unchanged."""
        a, b = self.step_offsets[t], self.step_offsets[t + 1]
        keep = self.prev_row[a:b] if self.shrink[t] else None
        ins = None if self.in_items is None else self.in_items[a:b]
        outs = None if self.out_items is None else self.out_items[a:b]
        return ins, outs, self.reset[a:b], keep

    def __iter__(self):
        for t in range(self.n_steps):
            yield self.step(t)

    def __len__(self):
        return self.n_steps

    def to_torch(self, device="cpu"):
        """The per-entry arrays as torch tensors on ``device`` (dict by name)."""
        import torch
        out = {}
        for name in ("step_offsets", "n_live", "event", "session", "reset", "prev_row",
                     "in_items", "out_items", "shrink"):
            arr = getattr(self, name)
            if arr is not None:
                out[name] = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
        return out

    def __repr__(self):
        return (f"Schedule(batch_size={self.batch_size}, min_slots={self.min_slots}, "
                f"n_steps={self.n_steps}, n_entries={self.n_entries})")


def _rows(t, s, death, m):
    """Row of slot s at step t: s minus the slots before s dropped at or before t.
    Vectorised over entries; one numpy pass per distinct drop step that matters."""
    row = s.astype(np.int64, copy=True)
    if m == 0 or len(t) == 0:
        return row
    first_drop = death.min()
    tail = np.flatnonzero(t >= first_drop)
    if len(tail) == 0:
        return row
    drops = np.unique(death)
    drops = drops[drops <= t[tail].max()]
    seg = np.searchsorted(drops, t[tail], side="right") - 1   # last drop step <= t
    order = np.argsort(seg, kind="stable")
    bounds = np.searchsorted(seg[order], np.arange(len(drops) + 1))
    for i in range(len(drops)):
        idx = tail[order[bounds[i]:bounds[i + 1]]]
        if len(idx) == 0:
            continue
        dead = (death <= drops[i]).astype(np.int64)
        before = np.cumsum(dead) - dead                       # dropped slots before s
        row[idx] -= before[s[idx]]
    return row


def build_schedule(offsets, batch_size, items=None, order=None, min_slots=1,
                   method="auto"):
    """The schedule of sessions given by CSR ``offsets`` (see the module doc).

    ``items``: per-event item codes; when given, in_items/out_items are filled.
    ``order``: session order (a permutation or a subset of session indices); default
    0..n_sessions-1. ``min_slots``: the epoch ends before a step with fewer live slots
    (1 for evaluation and for training with n_sample > 0, 2 for training with
    n_sample = 0).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    batch_size = int(batch_size)
    min_slots = int(min_slots)
    if batch_size < 1:
        raise ValueError(f"build_schedule: batch_size must be >= 1, got {batch_size}")
    if min_slots < 1:
        raise ValueError(f"build_schedule: min_slots must be >= 1, got {min_slots}")
    n_sessions = len(offsets) - 1
    if order is None:
        order = np.arange(n_sessions, dtype=np.int64)
    else:
        order = np.asarray(order, dtype=np.int64)
    first = offsets[:-1][order]
    lengths = offsets[1:][order] - first
    start, slot, death = assign_slots(lengths, batch_size, method=method)
    m = len(death)

    death_sorted = np.sort(death)
    n_steps = int(death_sorted[m - min_slots]) if m >= min_slots else 0
    steps = np.arange(n_steps, dtype=np.int64)
    n_live = (m - np.searchsorted(death_sorted, steps, side="right")).astype(np.int32)
    step_offsets = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(n_live, out=step_offsets[1:])
    n_entries = int(step_offsets[-1])

    # entries: session j contributes steps start_j .. start_j + cnt_j - 1
    cnt = np.clip(np.minimum(lengths - 1, n_steps - start), 0, None)
    used = np.flatnonzero(cnt)
    cnt_used = cnt[used]
    total = int(cnt_used.sum())
    assert total == n_entries, (total, n_entries)
    sess_of = np.repeat(used, cnt_used)
    base = np.zeros(len(used), dtype=np.int64)
    np.cumsum(cnt_used[:-1], out=base[1:])
    k = np.arange(total, dtype=np.int64) - np.repeat(base, cnt_used)
    del base
    t = start[sess_of] + k
    s = slot[sess_of]
    row = _rows(t, s, death, m)
    flat = step_offsets[t] + row
    prev = np.where(t > 0, _rows(np.maximum(t - 1, 0), s, death, m), -1)

    idx_dtype = np.int32 if (n_sessions < 2**31 and offsets[-1] < 2**31) else np.int64
    event = np.empty(total, dtype=idx_dtype)
    event[flat] = first[sess_of] + k
    session = np.empty(total, dtype=idx_dtype)
    session[flat] = order[sess_of]
    reset = np.empty(total, dtype=bool)
    reset[flat] = k == 0
    prev_row = np.empty(total, dtype=np.int32)
    prev_row[flat] = prev
    del t, s, row, prev, k, sess_of, flat
    in_items = out_items = None
    if items is not None:
        items = np.asarray(items)
        in_items = items[event]
        out_items = items[event.astype(np.int64) + 1]
    return Schedule(batch_size, min_slots, step_offsets, n_live, event, session, reset,
                    prev_row, in_items, out_items)
