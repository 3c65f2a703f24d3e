"""Inverse-CDF sampling of negative items (docs/algorithm.md, Negative sampling).

``cdf_sample(cdf, k, seed, offset)`` draws k items with P(i) = cdf[i] - cdf[i-1]. The
uniforms come from a counter-based generator, Philox-4x32-10 keyed by the 64-bit
``seed`` with counter ``offset + j`` for draw j (csrc/common/random.h), turned into a
float64 in [0, 1) from its top 53 bits; the search compares them with the cdf entries
promoted to float64 (for a float32 cdf too). Consequences:

* CPU and CUDA return identical ids for the same (cdf, k, seed, offset);
* a stream can be advanced without state: ``cdf_sample(cdf, 5, s, 0)`` followed by
  ``cdf_sample(cdf, 5, s, 5)`` equals ``cdf_sample(cdf, 10, s, 0)``;
* item i is drawn iff ``cdf[i-1] < u <= cdf[i]`` (searchsorted side='left'), so an item
  with zero probability is never drawn, except item 0 when cdf[0] == 0 and u == 0
  exactly (probability 2^-53 per draw).

``cdf_search(cdf, uniforms)`` is the search alone: the index of the first entry
``>= u`` (torch.searchsorted side='left', compared in the cdf's dtype), clamped to n-1.
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library


def cdf_sample(cdf, k, seed, offset=0):
    """Draw k item ids from a normalised cumulative distribution.

    Args:
        cdf: float32/float64 1-D [n], non-decreasing, last entry 1 (see build_cdf).
        k: number of draws (>= 0).
        seed: int, the stream (any 64-bit value; negative ints are taken mod 2^64).
        offset: int >= 0, index of the first draw in the stream; the next call of a
            sequence uses offset + k.

    Returns:
        int64 [k] ids in [0, n) on cdf's device.
    """
    return _ext.ops().cdf_sample(cdf, int(k), _as_int64(seed), int(offset))


def cdf_search(cdf, uniforms):
    """Index of the first cdf entry >= u for every u (side='left'), clamped to n-1.

    Args:
        cdf: float32/float64 1-D [n], non-decreasing.
        uniforms: tensor of any shape, same dtype and device as cdf.

    Returns:
        int64 tensor of uniforms' shape; equals torch.searchsorted(cdf, uniforms) for
        u <= cdf[-1].
    """
    return _ext.ops().cdf_search(cdf, uniforms)


def build_cdf(supports, alpha, dtype=torch.float64):
    """Normalised cumulative distribution of P(i) proportional to supports[i]**alpha.

    Accumulates in float64 and forces the last entry to exactly 1 (docs/algorithm.md).
    alpha=0 gives the uniform distribution, alpha=1 popularity sampling.

    Args:
        supports: 1-D tensor (or sequence) of non-negative item supports.
        alpha: exponent.
        dtype: dtype of the returned cdf (float64 by default).

    Returns:
        [n] tensor of ``dtype`` on supports' device.
    """
    supp = torch.as_tensor(supports).to(torch.float64)
    if supp.dim() != 1 or supp.numel() == 0:
        raise ValueError("build_cdf: supports must be a non-empty 1-D tensor")
    weights = supp.pow(alpha)
    cdf = torch.cumsum(weights, 0)
    total = cdf[-1].clone()
    cdf = cdf / total
    cdf[-1] = 1.0
    return cdf.to(dtype)


def _as_int64(seed):
    """Map any Python int onto the signed 64-bit range the binding accepts."""
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return seed - (1 << 64) if seed >= (1 << 63) else seed


def register(ns):
    """Fake kernels of cdf_sample and cdf_search (not differentiable)."""

    @torch.library.register_fake(f"{ns}::cdf_sample")
    def _(cdf, k, seed, offset):
        return cdf.new_empty(k, dtype=torch.long)

    @torch.library.register_fake(f"{ns}::cdf_search")
    def _(cdf, uniforms):
        _library.same_device("cdf_search", "cdf", cdf, uniforms=uniforms)
        return uniforms.new_empty(uniforms.shape, dtype=torch.long)
