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
  int64_t lo = 0, len = n;  // invariant: answer in [lo, lo + len]
  while (len > 0) {
    const int64_t half = len >> 1;
    if (!(static_cast<U>(cdf[lo + half]) >= u)) {  // '<' except NaN u goes right
      lo += half + 1;
      len -= half + 1;
    } else {
      len = half;
    }
  }
  return lo < n ? lo : n - 1;
}

}  // namespace gru4rec
