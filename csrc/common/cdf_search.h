// Binary search of a cumulative distribution, shared by the CPU and CUDA kernels of
// cdf_sample so both return the same index for the same uniform.
#pragma once
#include <cstdint>
#if !defined(__CUDACC__)
#include <vector>
#endif

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

#if !defined(__CUDACC__)
// Host-side guide table ("indexed search") over a cdf for many draws: guide[k] = the
// first i with cdf[i] >= k/K, K = n buckets. A uniform u starts at the guide of its
// bucket (one bucket lower, against rounding in floor(u K)) and steps forward while
// cdf[i] < u, so it returns exactly cdf_lower_bound's index, in O(1) expected probes
// (two cache misses instead of log2(n)). Built in O(n); worth it from ~n/8 draws.
template <typename C>
struct CdfGuide {
  const C* cdf;
  int64_t n;
  std::vector<int64_t> guide;

  CdfGuide(const C* c, int64_t n_) : cdf(c), n(n_), guide(static_cast<size_t>(n_)) {
    int64_t i = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double t = static_cast<double>(k) / static_cast<double>(n);
      while (i < n - 1 && !(static_cast<double>(cdf[i]) >= t)) ++i;
      guide[k] = i;
    }
  }

  // Same contract as cdf_lower_bound(cdf, n, u), comparisons in U's type.
  template <typename U>
  int64_t find(U u) const {
    if (!(u >= U(0))) return u != u ? n - 1 : 0;  // NaN sorts last; u < 0 -> item 0
    const double scaled = static_cast<double>(u) * static_cast<double>(n);
    int64_t k = scaled >= static_cast<double>(n) ? n - 1 : static_cast<int64_t>(scaled);
    k = k > 0 ? k - 1 : 0;
    int64_t i = guide[k];
    while (i < n - 1 && !(static_cast<U>(cdf[i]) >= u)) ++i;
    return i;
  }
};
#endif

}  // namespace gru4rec
