"""The epoch loop shared by ``GRU4Rec.fit`` and the training benchmark: the steps of one
epoch run in chunks, each chunk one backend call (for the fused backend: one C++ loop
with no Python between steps), with the sample store handing over the extra negatives
of a whole chunk at once."""
from typing import NamedTuple

import numpy as np
import torch

CHUNK_STEPS = 128       # steps per backend call; the caller looks at the loss in between


class EpochTensors(NamedTuple):
    """An epoch's schedule (gru4rec_fast.data.Schedule) as tensors: the per-row arrays on
    the training device for the whole epoch, the per-step ones (which only decide
    slicing) on the host."""
    ins: torch.Tensor       # (rows,) int64 input item of each row
    outs: torch.Tensor      # (rows,) int64 target item
    resets: torch.Tensor    # (rows,) bool: the row's session starts here
    prev: torch.Tensor      # (rows,) int64 row of the previous step (read where shrink)
    offsets: torch.Tensor   # (n_steps + 1,) int64, CPU: step t is rows offsets[t]:offsets[t+1]
    shrink: torch.Tensor    # (n_steps,) bool, CPU: the batch shrank before step t

    @classmethod
    def from_schedule(cls, sched, device):
        dev = torch.device(device)
        as_long = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))  # noqa: E731
        return cls(as_long(sched.in_items).to(dev), as_long(sched.out_items).to(dev),
                   torch.from_numpy(np.ascontiguousarray(sched.reset, dtype=bool)).to(dev),
                   as_long(sched.prev_row).to(dev), as_long(sched.step_offsets),
                   torch.from_numpy(np.ascontiguousarray(sched.shrink, dtype=bool)))


def run_epoch(step_fn, epoch, n_steps, H, store=None, chunk_steps=CHUNK_STEPS, on_chunk=None):
    """Train on steps [0, n_steps) of ``epoch`` (an EpochTensors).

    ``H``: the hidden states at step 0 (one tensor per layer). ``store``: a SampleStore
    or None (no extra negatives). ``on_chunk(t0, t1, losses, total)`` runs after each
    chunk with its per-step losses and the running sum (float64 tensors on the device,
    not read back here). Returns (total loss as a 0-dim float64 tensor, hidden states).
    """
    if chunk_steps < 1:
        raise ValueError(f"chunk_steps must be >= 1, got {chunk_steps}")
    dev = H[0].device if H else torch.device("cpu")
    total = torch.zeros((), dtype=torch.float64, device=dev)
    t = 0
    while t < n_steps:
        k = min(n_steps - t, chunk_steps)
        S = store.take(k) if store is not None else None
        if S is not None:
            k = S.shape[0]          # the store's block may end first
        losses, H = step_fn.run(epoch, t, t + k, S, H)
        total += losses.sum()
        if on_chunk is not None:
            on_chunk(t, t + k, losses, total)
        t += k
    return total, H
