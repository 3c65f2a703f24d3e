"""Top-k items per row under the output layer, fused and tiled over items.

For every row i of H the op ranks all items (or a candidate list) by the raw logit
``H_i . W_j + b_j`` and returns the k best item ids with their scores after the final
activation. No B x n score matrix is built: the CPU kernel scores a tile of
``tile_size`` items per task, in L2-sized GEMMs, and merges them into a running top-k, the
CUDA kernel does the same tile by tile on the GPU.

Semantics others rely on:

* Order: logit descending, ties to the **lower item id**, on every device and for any
  tile size or thread count. Ranking by the logit is ranking by the activated score for
  every final activation (all are monotone in it; for ``softmax_logit``, the negative
  log-softmax, the best items have the *lowest* score, as a loss would), and it keeps
  items apart where e.g. relu maps them all to 0.
* Scores: the final activation of the logit. ``softmax`` and ``softmax_logit`` are
  normalised over every column given (excluded items included, a duplicate candidate as
  often as it is given).
* Each item id appears at most once in a row's list, also when ``candidates`` repeats it.
* ``exclude_offsets``/``exclude_ids`` (CSR): row i never lists the ids
  ``exclude_ids[exclude_offsets[i]:exclude_offsets[i + 1]]``.
* ``k`` larger than the number of rankable items (distinct, not excluded) is allowed:
  the row's trailing entries are id -1 with score NaN (callers clamp k to show fewer).
"""
import functools

import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library
from gru4rec_fast.ops.enums import Activation, parse_activation

DEFAULT_TILE_SIZE = 4096          # CPU: items per GEMM tile (B x 4096 scores per task)
DEFAULT_TILE_SIZE_CUDA = 65536    # CUDA: larger tiles, fewer merge launches


def exclusion_csr(lists, device="cpu"):
    """(offsets int64 [B + 1], ids int64 [nnz]) of a list of B id sequences."""
    lengths = torch.tensor([len(x) for x in lists], dtype=torch.long)
    offsets = torch.zeros(len(lists) + 1, dtype=torch.long)
    torch.cumsum(lengths, 0, out=offsets[1:])
    flat = [int(i) for x in lists for i in x]
    return offsets.to(device), torch.tensor(flat, dtype=torch.long, device=device)


@functools.lru_cache(maxsize=64)
def _parsed(name):
    # serving calls this once per request with the same name: parse it once
    return parse_activation(name)


def topk_scores(H, W, b, k, candidates=None, exclude_offsets=None, exclude_ids=None,
                final_act="linear", tile_size=None):
    """The k best items of every row of H and their activated scores.

    Args:
        H: float32/float64 [B, d] hidden states (the network's last layer output).
        W: [n, d] output item weights (same dtype and device).
        b: [n] output item biases.
        k: int >= 1; entries past a row's rankable items are id -1, score NaN.
        candidates: optional int64 [K] item ids to rank among (None or empty: all n).
        exclude_offsets, exclude_ids: optional CSR of ids each row must not list
            (``exclusion_csr`` builds it); None: nothing excluded.
        final_act: final activation name ("linear", "elu-0.5", "softmax", ...) or an
            ``enums.Activation``.
        tile_size: items per tile (default 4096 on CPU, 65536 on CUDA); the CPU
            scores a tile in GEMMs of at most ~2^17 / B items (the B x items scores
            fit the L2 cache), so memory is O(B x min(tile_size, 2^17 / B)) per task.

    Returns:
        (scores [B, k] of H's dtype, ids int64 [B, k]), best first (module doc).
    """
    act = final_act if isinstance(final_act, Activation) else _parsed(final_act)
    dev = H.device
    # a fresh tensor per call, never a cached one: under torch.export/compile a cached
    # tensor would be a fake one, leaking out of the trace
    empty = torch.empty(0, dtype=torch.long, device=dev)
    if tile_size is None:
        tile_size = DEFAULT_TILE_SIZE_CUDA if dev.type == "cuda" else DEFAULT_TILE_SIZE
    if (exclude_offsets is None) != (exclude_ids is None):
        raise ValueError("topk_scores: give both exclude_offsets and exclude_ids, or neither")
    return _ext.ops().topk_scores(
        H, W, b, empty if candidates is None else candidates,
        empty if exclude_offsets is None else exclude_offsets,
        empty if exclude_ids is None else exclude_ids,
        int(k), act.code, float(act.a), float(act.b), int(tile_size))


def register(ns):
    """Fake kernel of topk_scores (not differentiable)."""

    @torch.library.register_fake(f"{ns}::topk_scores")
    def _(H, W, b, candidates, exclude_offsets, exclude_ids, k, final_act, act_a, act_b,
          tile_size):
        _library.same_device("topk_scores", "H", H, W=W, b=b, candidates=candidates,
                             exclude_offsets=exclude_offsets, exclude_ids=exclude_ids)
        B = H.shape[0]
        return H.new_empty((B, k)), H.new_empty((B, k), dtype=torch.long)
