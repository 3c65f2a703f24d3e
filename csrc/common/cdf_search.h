// Binary search of a cumulative distribution, shared by the CPU and CUDA kernels of
// cdf_sample so both return the same index for the same uniform.
#pragma once
#include <cstdint>
#include <type_traits>
#if !defined(__CUDACC__)
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
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
// cdf[i] < u, so it returns exactly cdf_lower_bound's index, in O(1) expected probes.
// Built in O(n); worth it from ~n/8 draws. Entries are 32-bit (half the cache
// footprint of int64), so it serves n <= 2^32 items (CdfGuide::fits).
//
// A draw's two probes (its guide entry, then the cdf entries it points to) are
// dependent cache misses once guide and cdf outgrow the caches: find_many pipelines
// them over a block of draws (prefetch every guide entry of the block, then every
// cdf entry, then search), so that the misses of a block overlap instead of queueing.
template <typename C>
struct CdfGuide {
  // Draws per pipelined block: enough misses in flight to cover DRAM latency, few
  // enough that the block's lines are still in L1 when searched.
  static constexpr int64_t kBlock = 32;

  const C* cdf;
  int64_t n;
  std::vector<uint32_t> guide;

  static bool fits(int64_t n_) { return n_ <= (int64_t(1) << 32); }

  CdfGuide(const C* c, int64_t n_) : cdf(c), n(n_), guide(static_cast<size_t>(n_)) {
    int64_t i = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double t = static_cast<double>(k) / static_cast<double>(n);
      while (i < n - 1 && !(static_cast<double>(cdf[i]) >= t)) ++i;
      guide[k] = static_cast<uint32_t>(i);
    }
  }

  // The guide slot a valid u (u >= 0) starts from: one bucket below floor(u n).
  template <typename U>
  int64_t slot(U u) const {
    const double scaled = static_cast<double>(u) * static_cast<double>(n);
    const int64_t k = scaled >= static_cast<double>(n) ? n - 1 : static_cast<int64_t>(scaled);
    return k > 0 ? k - 1 : 0;
  }

  // The forward scan from cdf index i: the first i' >= i with cdf[i'] >= u, or n - 1.
  // Eight entries per step as a bit mask of the comparisons (one well-predicted branch
  // where a scalar loop mispredicts its exit on most draws); the first set bit is
  // exactly where the scalar loop stops, for any cdf, sorted or not.
  template <typename U>
  int64_t scan(int64_t i, U u) const {
    for (; i + 8 <= n - 1; i += 8) {  // the clamp at n - 1 cannot fall inside
      const unsigned hits = ge_mask8(cdf + i, u);
      if (hits != 0) return i + __builtin_ctz(hits);
    }
    while (i < n - 1 && !(static_cast<U>(cdf[i]) >= u)) ++i;
    return i;
  }

  // Bit j set iff c[j] >= u, compared in U's type, for j < 8.
  template <typename U>
  static unsigned ge_mask8(const C* c, U u) {
#if defined(__SSE2__)
    if constexpr (std::is_same_v<C, double> && std::is_same_v<U, double>) {
      const __m128d uu = _mm_set1_pd(u);
      unsigned m = 0;
      for (int j = 0; j < 4; ++j)
        m |= static_cast<unsigned>(_mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(c + 2 * j), uu)))
             << (2 * j);
      return m;
    } else if constexpr (std::is_same_v<C, float> && std::is_same_v<U, float>) {
      const __m128 uu = _mm_set1_ps(u);
      return static_cast<unsigned>(_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(c), uu))) |
             (static_cast<unsigned>(_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(c + 4), uu))) << 4);
    } else if constexpr (std::is_same_v<C, float> && std::is_same_v<U, double>) {
      const __m128d uu = _mm_set1_pd(u);
      unsigned m = 0;
      for (int h = 0; h < 2; ++h) {
        const __m128 f = _mm_loadu_ps(c + 4 * h);  // float -> double is exact
        m |= static_cast<unsigned>(_mm_movemask_pd(_mm_cmpge_pd(_mm_cvtps_pd(f), uu))) << (4 * h);
        m |= static_cast<unsigned>(_mm_movemask_pd(_mm_cmpge_pd(_mm_cvtps_pd(_mm_movehl_ps(f, f)), uu)))
             << (4 * h + 2);
      }
      return m;
    }
#endif
    unsigned m = 0;
    for (int j = 0; j < 8; ++j) m |= static_cast<unsigned>(static_cast<U>(c[j]) >= u) << j;
    return m;
  }

  // Same contract as cdf_lower_bound(cdf, n, u), comparisons in U's type.
  template <typename U>
  int64_t find(U u) const {
    if (!(u >= U(0))) return u != u ? n - 1 : 0;  // NaN sorts last; u < 0 -> item 0
    return scan(static_cast<int64_t>(guide[slot(u)]), u);
  }

  // out[j] = find(u[j]) for j < m, pipelined in blocks of kBlock (see above).
  template <typename U>
  void find_many(const U* u, int64_t m, int64_t* out) const {
    int64_t start[kBlock];
    for (int64_t b = 0; b < m; b += kBlock) {
      const int64_t len = m - b < kBlock ? m - b : kBlock;
      const U* ub = u + b;
      for (int64_t j = 0; j < len; ++j) {
        // invalid u (negative, NaN) get slot 0 here and their own answer below
        start[j] = ub[j] >= U(0) ? slot(ub[j]) : 0;
#if defined(__GNUC__)
        __builtin_prefetch(guide.data() + start[j]);
#endif
      }
      for (int64_t j = 0; j < len; ++j) {
        start[j] = guide[start[j]];
#if defined(__GNUC__)
        __builtin_prefetch(cdf + start[j]);
        __builtin_prefetch(cdf + start[j] + 7);  // scan reads 8 entries, maybe 2 lines
#endif
      }
      for (int64_t j = 0; j < len; ++j) {
        const U x = ub[j];
        out[b + j] = x >= U(0) ? scan(start[j], x) : (x != x ? n - 1 : 0);
      }
    }
  }
};
#endif

}  // namespace gru4rec
