"""SessionDataset: events grouped into sessions (CSR layout) over an item index.

Layout (all numpy):
  items       int32 [n_events]       item code of each event, sessions stored one after
                                     another in *session order*, events of a session in
                                     time order
  offsets     int64 [n_sessions+1]   session k's events are items[offsets[k]:offsets[k+1]]
  session_ids [n_sessions]           original session id of each session
  start_times [n_sessions]           time of each session's first event
  supports    int64 [n_items]        number of events of each item in this data

Session order (docs/algorithm.md): with ``time_sort=True`` (default) sessions ascend by their first
timestamp (ties: by session id); with ``time_sort=False`` they ascend by session id.
Events are sorted by (session id, time) with a stable sort, and only when they are not
already sorted.

Training data keeps sessions of length 1: they produce no step but, exactly as in the
reference iteration, take a slot for a moment (see schedule.py). Test data built against
a training item index (``item_index=``) drops events of unknown items, then sessions
left shorter than 2; both counts are kept (``n_unknown_dropped``,
``n_short_sessions_dropped``) and logged.
"""
import logging

import numpy as np
import pandas as pd

from .errors import DataError, source_name
from .item_index import ItemIndex
from .loading import read_events

log = logging.getLogger("gru4rec_fast.data")


def _is_sorted(scodes, time, tie=None):
    """True when events are ordered by (session code, time[, tie])."""
    if len(scodes) < 2:
        return True
    ds = np.diff(scodes)
    if (ds < 0).any():
        return False
    same = ds == 0
    if (same & (time[1:] < time[:-1])).any():
        return False
    if tie is None:
        return True
    return not (same & (time[1:] == time[:-1]) & (tie[1:] < tie[:-1])).any()


def _item_id_ranks(item_index):
    """Rank of each item code in the order of the original item ids (ints by value,
    strings lexicographically): the tie key of test events with equal times."""
    ranks = np.empty(len(item_index), dtype=np.int64)
    ranks[np.argsort(item_index.ids, kind="stable")] = np.arange(len(item_index))
    return ranks


def _session_codes(sess):
    """Order-preserving session codes and the sorted unique ids. Fast path without
    hashing when numeric ids are already grouped in ascending order."""
    if sess.dtype.kind in "iu" and len(sess) > 1:
        change = sess[1:] != sess[:-1]
        if (sess[1:] >= sess[:-1]).all():
            codes = np.empty(len(sess), dtype=np.int64)
            codes[0] = 0
            np.cumsum(change, out=codes[1:])
            return codes, sess[np.concatenate(([True], change))]
    return pd.factorize(sess, sort=True)


def _gather_sessions(offsets, order):
    """Event positions that lay out the sessions of ``offsets`` in ``order``, and the new
    offsets. Vectorised: one repeat plus one arange."""
    lengths = (offsets[1:] - offsets[:-1])[order]
    new_offsets = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    shift = np.repeat(offsets[:-1][order] - new_offsets[:-1], lengths)
    return np.arange(new_offsets[-1], dtype=np.int64) + shift, new_offsets


class SessionDataset:
    """Events of a data set in the CSR session layout described in the module doc."""

    def __init__(self, items, offsets, session_ids, start_times, item_index, supports,
                 source=None, n_unknown_dropped=0, n_short_sessions_dropped=0):
        self.items = items
        self.offsets = offsets
        self.session_ids = session_ids
        self.start_times = start_times
        self.item_index = item_index
        self.supports = supports
        self.source = source
        self.n_unknown_dropped = n_unknown_dropped
        self.n_short_sessions_dropped = n_short_sessions_dropped

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_events(cls, data, session_key="SessionId", item_key="ItemId", time_key="Time",
                    item_index=None, time_sort=True, grow_index=False):
        """Build from a DataFrame or a file path (see loading.read_events).

        ``item_index=None``: training data; the item index is built here (first
        appearance in the given row order) and at least one session must have 2 events.
        ``item_index=<ItemIndex>``: test data against a training index; unknown items are
        dropped, then sessions shorter than 2, and events with equal times in a session
        are ordered by item id (the original's evaluation order).
        Sessions are ordered by start time (``time_sort``); equal start times are ordered
        by session id (a stable sort over sessions in id order), for training and test
        data alike.
        ``item_index=<ItemIndex>, grow_index=True``: training data for continued training:
        nothing is dropped, and items not in the index are added to a grown copy of it
        (``ItemIndex.extended_with``), which becomes the data set's ``item_index``.
        """
        if grow_index and item_index is None:
            raise ValueError("SessionDataset.from_events: grow_index=True needs an item_index")
        source = None if isinstance(data, pd.DataFrame) else str(data)
        src = source_name(source)
        df = read_events(data, session_key, item_key, time_key)
        sess = df[session_key].to_numpy()
        time = df[time_key].to_numpy()
        item_values = df[item_key]
        del df
        n_unknown = 0
        is_test = item_index is not None and not grow_index
        if item_index is None:
            item_index, codes = ItemIndex.from_items(item_values)
        elif grow_index:
            item_index, codes = item_index.extended_with(item_values)
        else:
            codes = item_index.map_items(item_values)
            known = codes >= 0
            n_unknown = int(len(codes) - known.sum())
            if n_unknown == len(codes):
                raise DataError(f"{src}: none of the {len(codes)} events has an item known to "
                                f"the training data (column {item_key!r})")
            if n_unknown:
                codes, sess, time = codes[known], sess[known], time[known]
        del item_values

        scodes, suniq = _session_codes(sess)
        del sess
        # Test events are ordered by (session, time, item id), as the original's
        # evaluation sorts them, so same-time events have one order whatever the file's;
        # training events keep the file order among equal times (stable sort).
        tie = _item_id_ranks(item_index)[codes] if is_test else None
        if not _is_sorted(scodes, time, tie):
            keys = (time, scodes) if tie is None else (tie, time, scodes)
            perm = np.lexsort(keys)  # stable
            scodes, codes, time = scodes[perm], codes[perm], time[perm]
            del perm
        n = len(scodes)
        change = np.flatnonzero(scodes[1:] != scodes[:-1]) + 1
        offsets = np.concatenate(([0], change, [n])).astype(np.int64)
        session_ids = np.asarray(suniq)
        del scodes
        lengths = np.diff(offsets)

        n_short = 0
        keep = None
        if is_test:
            keep = lengths >= 2
            n_short = int(len(lengths) - keep.sum())
            if not keep.any():
                raise DataError(f"{src}: no session has 2 or more events of items known to the "
                                f"training data ({n_unknown} events of unknown items dropped); "
                                "nothing to evaluate")
        elif not (lengths >= 2).any():
            raise DataError(f"{src}: no session has 2 or more events ({len(lengths)} sessions, "
                            f"all of length 1; column {session_key!r}); nothing to train on")

        start_times = time[offsets[:-1]]
        sel = np.flatnonzero(keep) if keep is not None and n_short else np.arange(len(lengths))
        if time_sort:
            order = sel[np.argsort(start_times[sel], kind="stable")]
        else:
            order = sel
        if len(order) == len(lengths) and (order[1:] > order[:-1]).all():
            new_offsets = offsets
            items = codes
        else:
            pos, new_offsets = _gather_sessions(offsets, order)
            items = codes[pos]
            del pos
        supports = np.bincount(items, minlength=len(item_index)).astype(np.int64)
        if n_unknown or n_short:
            log.warning("%s: dropped %d events of items unknown to the training data and %d "
                        "sessions shorter than 2", src, n_unknown, n_short)
        return cls(items=items, offsets=new_offsets, session_ids=session_ids[order],
                   start_times=start_times[order], item_index=item_index, supports=supports,
                   source=source, n_unknown_dropped=n_unknown, n_short_sessions_dropped=n_short)

    # -- properties -----------------------------------------------------------------
    @property
    def n_events(self):
        return int(self.offsets[-1])

    @property
    def n_sessions(self):
        return len(self.offsets) - 1

    @property
    def n_items(self):
        return len(self.item_index)

    @property
    def lengths(self):
        return np.diff(self.offsets)

    def schedule(self, batch_size, min_slots=1, order=None, shuffle=False, seed=None):
        """The session-parallel schedule of this data (see schedule.build_schedule)."""
        from .schedule import build_schedule
        if shuffle:
            order = np.random.default_rng(seed).permutation(self.n_sessions)
        return build_schedule(self.offsets, batch_size, items=self.items, order=order,
                              min_slots=min_slots)

    def __repr__(self):
        return (f"SessionDataset(n_events={self.n_events}, n_sessions={self.n_sessions}, "
                f"n_items={self.n_items}, source={self.source!r})")
