"""sparse_row_update_ (fused sort + per-row update) vs the coalesce + index_add reference,
adagrad with momentum as in the published setups. Shapes: (ids, table rows x d)."""
import torch

from gru4rec_fast.ops import reference
from gru4rec_fast.ops.sparse_row_update import SparseRowState, sparse_row_update_

LR, MOMENTUM = 1e-4, 0.4


def _ids(n, M, dup_share, gen, device):
    ids = torch.randperm(n, generator=gen)[:M]
    k = int(M * dup_share)
    if k:
        ids[torch.randperm(M, generator=gen)[:k]] = ids[torch.randint(M, (k,), generator=gen)]
    return ids.to(device)


def _check(ids, grads, p):
    """Fused vs reference on copies of the touched rows (ids remapped to 0..k-1)."""
    rows = torch.unique(ids)
    a, b = p[rows].clone(), p[rows].clone()
    sa, sb = SparseRowState(a, "adagrad", MOMENTUM), SparseRowState(b, "adagrad", MOMENTUM)
    local = torch.searchsorted(rows, ids)
    for _ in range(2):
        sparse_row_update_(a, local, grads, sa, 0.05, momentum=MOMENTUM)
        reference.sparse_row_update_(b, local, grads, sb, 0.05, momentum=MOMENTUM)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def cases(device):
    gen = torch.Generator().manual_seed(0)
    for M, n, d in ((2208, 1_000_000, 224), (2080, 100_000, 100), (2480, 1_000_000, 512),
                    (2208, 1_000_000, None)):
        shape = (n,) if d is None else (n, d)
        ids = _ids(n, M, 0.10, gen, device)
        grads = torch.randn((M,) if d is None else (M, d), generator=gen).to(device)
        # One table and state shared by both sides (1M x 512 with adagrad + momentum is
        # already 6 GB): each applies the same small step in place over and over; the
        # correctness check runs on copies of the touched rows. The big tensors live in
        # `bufs`, emptied when the next case is requested, so two cases never coexist.
        param = torch.randn(shape, generator=gen).to(device)
        bufs = {"p": param, "s": SparseRowState(param, "adagrad", MOMENTUM)}
        del param
        label = f"{M} ids 10% dup -> {n // 1000}k" + ("" if d is None else f" x {d}")
        yield {"op": "sparse_row_update_ adagrad+mom" + (" (bias)" if d is None else ""),
               "shape": label,
               "check": lambda b=bufs, ids=ids, g=grads: _check(ids, g, b["p"]),
               "fused": lambda b=bufs, ids=ids, g=grads:
                   sparse_row_update_(b["p"], ids, g, b["s"], LR, momentum=MOMENTUM),
               "reference": lambda b=bufs, ids=ids, g=grads:
                   reference.sparse_row_update_(b["p"], ids, g, b["s"], LR, momentum=MOMENTUM)}
        bufs.clear()
