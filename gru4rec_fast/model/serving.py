"""The serving state of ``GRU4Rec.recommend``: every open session's hidden states in one
device-resident table.

Each layer l has one (capacity x d_l) tensor on the model's device; a session owns one
row (a *slot*) of all of them. ``session id -> slot`` is a dict, and the slots of
forgotten sessions go to a free list for reuse. A call of ``recommend`` for B sessions
is then one gather, one batched network step and one scatter, never a per-session
Python list of tensors. When the open sessions outgrow the table it doubles (one copy,
so growth costs amortised O(1) per session). A reused slot needs no clearing: a new
session's first step runs with ``reset``, which zeroes its hidden state.
"""
import numpy as np
import torch


class SessionStateTable:
    """Hidden states of open sessions, one slot (row) per session, on ``device``."""

    def __init__(self, layers, dtype, device, capacity=64):
        self.layers = list(layers)
        self.dtype = dtype
        self.device = torch.device(device)
        self.capacity = int(capacity)
        self.states = [torch.zeros(self.capacity, d, dtype=dtype, device=self.device)
                       for d in self.layers]
        self.slot_of = {}          # session id -> slot
        self.free = []             # slots given back by forget(), reused first
        self.n_used = 0            # slots [0, n_used) were handed out at least once
        self.seen = {}             # session id -> item codes fed so far (exclude_seen)

    def __len__(self):
        return len(self.slot_of)

    def __contains__(self, session_id):
        return session_id in self.slot_of

    def _grow(self, needed):
        cap = max(2 * self.capacity, needed)
        self.states = [torch.cat([s, s.new_zeros(cap - self.capacity, s.shape[1])])
                       for s in self.states]
        self.capacity = cap

    def acquire(self, session_ids):
        """Slots of the given sessions, opening new ones where needed.

        Returns (slots int64 [B] on the device, new bool [B] on the device: the session
        was opened by this call, so its state must start from zero)."""
        slots, new = [], []
        for s in session_ids:
            slot = self.slot_of.get(s)
            if slot is None:
                if self.free:
                    slot = self.free.pop()
                else:
                    if self.n_used == self.capacity:
                        self._grow(self.n_used + 1)
                    slot = self.n_used
                    self.n_used += 1
                self.slot_of[s] = slot
                self.seen[s] = []
                new.append(True)
            else:
                new.append(False)
            slots.append(slot)
        return (torch.from_numpy(np.asarray(slots, dtype=np.int64)).to(self.device),
                torch.from_numpy(np.asarray(new, dtype=bool)).to(self.device))

    def gather(self, slots):
        """The hidden states of ``slots``: one (B x d_l) tensor per layer."""
        return [s.index_select(0, slots) for s in self.states]

    def store(self, slots, hidden):
        """Write the new hidden states (one (B x d_l) tensor per layer) to ``slots``."""
        for s, h in zip(self.states, hidden):
            s.index_copy_(0, slots, h.to(s.dtype))

    def add_seen(self, session_ids, codes):
        for s, c in zip(session_ids, codes):
            self.seen[s].append(int(c))

    def forget(self, session_ids):
        for s in session_ids:
            slot = self.slot_of.pop(s, None)
            if slot is not None:
                self.free.append(slot)
                self.seen.pop(s, None)

    def clear(self):
        """Drop every session (the table keeps its capacity)."""
        self.slot_of.clear()
        self.seen.clear()
        self.free = []
        self.n_used = 0
