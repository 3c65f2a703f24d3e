"""Allocation of the item tables on transparent huge pages (docs/development.md, Switches).

The tensors with one row per item (Wy, By, E, Wx0: ``network.SPARSE_NAMES``), their
optimiser state and the per-item logQ supports are read and written at ~2k random rows
per training step. At 50k items and more they are tens of MB to GBs, so on 4 KiB pages
nearly every cold row is also a TLB miss. On the CPU these tensors are allocated by
``gru4rec_fast._C.empty_huge_pages`` (csrc/cpu/huge_page_alloc.h): 2 MiB-aligned
anonymous memory advised MADV_HUGEPAGE before its first touch, unmapped with the
tensor's storage. Tensors under 4 MiB, non-CPU devices, a missing extension, a kernel
that refuses huge pages and ``GRU4REC_FAST_HUGE_PAGES=0`` all get ordinary memory.

Allocation only: values are identical either way, and the tensors are ordinary CPU
tensors to everything else (save/load, pickling, clone, ``.to(device)``, numpy).

Why not torch's own THP_MEM_ALLOC_ENABLE=1: it is an opt-in for every large CPU
allocation of the process; this targets the item tables only, on by default.
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops.enums import ITEM_TABLES


def _cpu_with_extension(device):
    return torch.device(device).type == "cpu" and _ext.available()


def empty(shape, dtype, device="cpu"):
    """An uninitialised contiguous tensor of ``shape`` and ``dtype`` on ``device``; on
    the CPU on huge pages where possible (see the module doc)."""
    if not _cpu_with_extension(device):
        return torch.empty(tuple(shape), dtype=dtype, device=device)
    return _ext.ext().empty_huge_pages([int(s) for s in shape], dtype)


def zeros(shape, dtype, device="cpu"):
    """Like ``torch.zeros``, on huge pages where possible (see ``empty``)."""
    return empty(shape, dtype, device).zero_()


def item_table(t, device=None, dtype=None):
    """``t.to(device, dtype).contiguous()`` as a new tensor, on huge pages where possible
    (see ``empty``); the values are exactly those ``Tensor.to`` would give."""
    device = t.device if device is None else torch.device(device)
    dtype = t.dtype if dtype is None else dtype
    if not _cpu_with_extension(device):
        return t.to(device=device, dtype=dtype).contiguous()
    return empty(t.shape, dtype, device).copy_(t)


def place(name, t, device=None, dtype=None):
    """Weight (or optimiser state) ``name`` as ``t.to(device, dtype).contiguous()``: an
    item table (``ITEM_TABLES``: Wy, By, E, Wx0) by ``item_table``, on huge pages where
    possible; any other weight as ``Tensor.to`` gives it."""
    if name in ITEM_TABLES:
        return item_table(t, device, dtype)
    return t.to(device=device, dtype=dtype).contiguous()
