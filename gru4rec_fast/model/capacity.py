"""Item-indexed tensors that can grow with the catalogue without a copy per growth.

The item tables (Wy, By, E, Wx0) and their optimiser state have one row per item.
Continued training with new items (``GRU4Rec.fit(warm_start=True)``) appends rows. Each
such tensor is kept as a *capacity buffer* whose first ``n_items`` rows are the tensor
the model uses: ``buffer.narrow(0, 0, n_items)``, a contiguous view, so the training
loops (csrc/train_loop.cpp, the reference backend) and the row-sparse optimiser write
into the buffer in place.

Growing to n rows:
  * n <= capacity: no allocation, no copy; the views are re-sliced.
  * n > capacity: one new buffer of max(n, 2 * capacity) rows per tensor, and the
    current rows are copied into it once. Capacities double, so the rows copied over any
    sequence of growths sum to less than the final capacity: amortised at most one copy
    of each row (``n_reallocations`` counts the reallocations).
A model from ``fit`` or ``load`` starts with capacity = n_items (no spare memory until
the catalogue first grows). Rows past n_items are never read by training or serving.

What else a continued fit allocates: the training loop (C++ ``TrainLoop`` or the
reference step) is rebuilt per fit from the views, holding references, not copies; the
per-fit vectors of length n_items (the sampling CDF and logQ's log-supports, built from
the new data) and the epoch schedule are new in every fit, as in a first fit. ``save``
copies a view out of its buffer (persistence.py) so files hold n_items rows.
"""
from gru4rec_fast.model import huge_pages


class RowBuffers:
    """Named tensors sharing one row count (the number of items), each the leading rows
    of a capacity buffer (see the module doc)."""

    def __init__(self, tensors, n_rows):
        """``tensors``: name -> tensor with ``n_rows`` rows (taken as the first buffers;
        empty tensors, e.g. unused optimiser state, are kept as they are and never grow)."""
        self.n_rows = int(n_rows)
        self._buffers = {}
        for k, t in tensors.items():
            if t.numel() and t.shape[0] != self.n_rows:
                raise ValueError(f"RowBuffers: {k} has {t.shape[0]} rows, expected {self.n_rows}")
            self._buffers[k] = t.contiguous()
        self.n_reallocations = 0

    @property
    def capacity(self):
        caps = [b.shape[0] for b in self._buffers.values() if b.numel()]
        return min(caps) if caps else self.n_rows

    def __getitem__(self, name):
        """The first n_rows rows of buffer ``name`` (a contiguous view)."""
        b = self._buffers[name]
        return b.narrow(0, 0, self.n_rows) if b.numel() else b

    def __contains__(self, name):
        return name in self._buffers

    def views(self):
        return {k: self[k] for k in self._buffers}

    def grow(self, n_rows):
        """Make room for ``n_rows`` rows (>= the current count); returns True when the
        buffers were reallocated. The added rows hold arbitrary values: the caller
        initialises them (through ``self[name][old:]``)."""
        n_rows = int(n_rows)
        if n_rows < self.n_rows:
            raise ValueError(f"RowBuffers.grow: cannot shrink from {self.n_rows} to {n_rows} rows")
        realloc = n_rows > self.capacity
        if realloc:
            cap = max(n_rows, 2 * self.capacity)
            for k, b in self._buffers.items():
                if not b.numel():
                    continue
                # item tables: on huge pages, like the first buffers (model/huge_pages.py)
                nb = huge_pages.empty((cap,) + tuple(b.shape[1:]), b.dtype, b.device)
                nb.narrow(0, 0, self.n_rows).copy_(b.narrow(0, 0, self.n_rows))
                self._buffers[k] = nb
            self.n_reallocations += 1
        self.n_rows = n_rows
        return realloc
