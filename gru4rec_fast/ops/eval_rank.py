"""Evaluation ranking counts (docs/algorithm.md, Evaluation), fused and tiled over items.

For every row i of H the op scores all items (or a candidate list) as
``s_j = act(H_i . W_j + b_j) [+ noise]`` and returns how many items score strictly
above the row's target item and how many score equal to it. No B x n score matrix is
built: the CPU kernel works on panels of items, the CUDA kernel on blocks of 128 items,
so memory stays O(B) whatever n is.

Semantics others rely on:

* Final activations: element-wise ones (linear, relu, tanh, leaky-X, elu-X,
  selu-X-Y) are applied before comparing, so e.g. relu produces ties at 0. The
  row-wise ones are strictly monotone in the raw logit within a row, so they are
  ranked on the raw logits: ``softmax`` (increasing) and ``softmax_logit`` (the
  negative log-softmax, whose output decreases with the logit: ranking "by
  probability" is what evaluation means). This also avoids false ties where float32
  probabilities underflow to 0.
* The target's score is computed with exactly the same arithmetic as every item's
  (same fixed-order dot product), so an item with an identical row ties exactly. The
  target's own column is never compared; instead it is counted once in ``n_equal``,
  whether or not it is among the candidates (and however often it appears there).
  With candidates the rank is therefore the target's rank within
  ``candidates + {target}``; duplicate candidates other than the target count as
  often as they appear.
* Noise (``noise_scale > 0``): ``noise_scale * u`` is added to every activated score,
  with ``u`` uniform in [0, 1) (24 bits for float32, 53 for float64) from a hash of
  ``(noise_seed, row index, item id)`` (csrc/common/random.h, ``hash_uniform_bits``)
  in the scores' dtype; the target gets the same ``u`` wherever it is seen. The model's
  evaluate() passes ``noise_scale=1e-10`` for the "tiebreaking" mode, then ranks with
  the standard rule. In float32 a 1e-10 noise only separates scores near 0 (such as
  relu zeros), as in the reference implementation.
* CPU and CUDA sum the dot products in different (each fixed) orders, so near-ties
  between *different* scores may resolve differently on the two devices; exact ties and
  the target itself are exact on both.
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library
from gru4rec_fast.ops.enums import RANK_MODES, parse_activation

DEFAULT_TILE_SIZE = 8192


def eval_rank_counts(H, W, b, targets, candidates=None, final_act="linear", noise_scale=0.0,
                     noise_seed=0, tile_size=DEFAULT_TILE_SIZE):
    """Count, per row, the items scoring above and equal to the target item.

    Args:
        H: float32/float64 [B, d] hidden states (final layer output).
        W: [n, d] item output weights, same dtype and device as H.
        b: [n] item biases.
        targets: int64 [B] target item ids in [0, n).
        candidates: optional int64 [K] item ids to rank against (None or empty: all n).
        final_act: final activation name ("linear", "elu-0.5", "softmax", ...) or an
            ``enums.Activation``; row-wise ones rank on the raw logits (module doc).
        noise_scale: >= 0; scale of the uniform tie-breaking noise (0: none).
        noise_seed: int seed of the noise hash.
        tile_size: items per parallel CPU task (ignored on CUDA); memory never depends
            on it beyond O(B) per task.

    Returns:
        (n_greater, n_equal): int64 [B] each. n_equal counts the target itself once.
    """
    act = parse_activation(final_act)
    if candidates is None:
        candidates = torch.empty(0, dtype=torch.long, device=H.device)
    return _ext.ops().eval_rank_counts(H, W, b, targets, candidates, act.code, float(act.a),
                                       float(act.b), float(noise_scale), int(noise_seed),
                                       int(tile_size))


def ranks_from_counts(n_greater, n_equal, mode="standard"):
    """Turn ``eval_rank_counts`` output into ranks (1 = best).

    Modes (docs/algorithm.md, Evaluation):
        standard:     1 + n_greater                         (int64)
        conservative: n_greater + n_equal                   (int64; the target counts itself)
        median:       1 + n_greater + 0.5 * (n_equal - 1)   (float64)
        tiebreaking:  1 + n_greater, meant for counts computed with noise (the model's
                      evaluate() uses noise_scale=1e-10)     (int64)
    """
    if mode in ("standard", "tiebreaking"):
        return n_greater + 1
    if mode == "conservative":
        return n_greater + n_equal
    if mode == "median":
        return 1.0 + n_greater.double() + 0.5 * (n_equal.double() - 1.0)
    raise ValueError(f"unknown rank mode '{mode}'; valid: {', '.join(RANK_MODES)}")


def register(ns):
    """Fake kernel of eval_rank_counts (not differentiable)."""

    @torch.library.register_fake(f"{ns}::eval_rank_counts")
    def _(H, W, b, targets, candidates, final_act, act_a, act_b, noise_scale, noise_seed,
          tile_size):
        _library.same_device("eval_rank_counts", "H", H, W=W, b=b, targets=targets,
                             candidates=candidates)
        B = H.shape[0]
        return targets.new_empty(B), targets.new_empty(B)
