// Kernels of cdf_sample / cdf_search (launched by csrc/cuda/cdf_sample_cuda.cu; run on CPU
// by the CUDA emulation, csrc/emu/): one thread per draw.
#pragma once
#include <cstdint>

#include "common/cdf_search.h"
#include "common/random.h"

#include "cuda/portability.cuh"

namespace gru4rec {
namespace cdf_sample_kernels {

constexpr int kThreads = 256;

// One thread per draw; the uniform comes from the same Philox counter as on the CPU.
template <typename scalar_t>
__global__ void cdf_sample_kernel(const scalar_t* __restrict__ cdf, int64_t n, int64_t k,
                                  uint64_t seed, uint64_t offset, int64_t* __restrict__ out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= k) return;
  const double u = bits_to_unit_double(philox_bits64(seed, offset + static_cast<uint64_t>(i)));
  out[i] = cdf_lower_bound(cdf, n, u);
}

template <typename scalar_t>
__global__ void cdf_search_kernel(const scalar_t* __restrict__ cdf, int64_t n,
                                  const scalar_t* __restrict__ u, int64_t k,
                                  int64_t* __restrict__ out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= k) return;
  out[i] = cdf_lower_bound(cdf, n, u[i]);
}


inline unsigned int n_blocks(int64_t k) {
  return static_cast<unsigned int>((k + kThreads - 1) / kThreads);
}

}  // namespace cdf_sample_kernels
}  // namespace gru4rec
