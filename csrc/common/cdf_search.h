// Binary search of a cumulative distribution, shared by the CPU and CUDA kernels of
// cdf_sample so both return the same index for the same uniform.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define G4R_CDF_HD __host__ __device__ __forceinline__
#else
#define G4R_CDF_HD inline
#endif

namespace gru4rec {

// Index of the first entry with cdf[i] >= u (numpy/torch searchsorted, side='left'),
// clamped to n-1 so that u above the last entry (rounding in a cdf whose last entry is
// not exactly 1) still returns a valid item. The comparison is done in U's type: the
// CPU/CUDA sampler passes a double, cdf_search the uniforms in the cdf's own dtype.
// A NaN u sorts above everything (as in torch) and so returns n-1.
template <typename C, typename U>
G4R_CDF_HD int64_t cdf_lower_bound(const C* cdf, int64_t n, U u) {
  // Branch-free halving (base moves, len shrinks): with random u every probe of a large
  // cdf is a cache miss, so on the host both possible next probes are prefetched while
  // the current one is loaded.
  const C* base = cdf;
  int64_t len = n;
  while (len > 1) {
    const int64_t half = len >> 1;
#if !defined(__CUDA_ARCH__) && defined(__GNUC__)
    __builtin_prefetch(base + (len - half) / 2);
    __builtin_prefetch(base + half + (len - half) / 2);
#endif
    // '<' except that a NaN u goes right (NaN sorts last, as in torch)
    base = !(static_cast<U>(base[half - 1]) >= u) ? base + half : base;
    len -= half;
  }
  const int64_t idx = (base - cdf) + (!(static_cast<U>(*base) >= u) ? 1 : 0);
  return idx < n ? idx : n - 1;
}

}  // namespace gru4rec
