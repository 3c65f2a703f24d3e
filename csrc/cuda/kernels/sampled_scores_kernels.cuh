// Gather kernel of sampled_scores (launched by csrc/cuda/sampled_scores_cuda.cu before
// the cuBLAS GEMMs; run on CPU by the CUDA emulation, csrc/emu/).
#pragma once
#include <cstdint>

#include "cuda/portability.cuh"

namespace gru4rec {
namespace sampled_scores_kernels {

// Wy[j, :] = W[Y[j], :] and (when by != nullptr) by[j] = b[Y[j]]. One thread per
// element, grid-stride; row-major reads of W rows coalesce across the row.
template <typename scalar_t>
__global__ void gather_rows_kernel(const scalar_t* __restrict__ W, const scalar_t* __restrict__ b,
                                   const int64_t* __restrict__ Y, scalar_t* __restrict__ Wy,
                                   scalar_t* __restrict__ by, int64_t N, int64_t d, int64_t n) {
  const int64_t total = N * d;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = i / d, c = i - j * d;
    const int64_t id = Y[j];
    CUDA_KERNEL_ASSERT(id >= 0 && id < n && "sampled_scores: id in Y out of range [0, n_items)");
    Wy[i] = W[id * d + c];
    if (by != nullptr && c == 0) by[j] = b[id];
  }
  // d == 0: the bias still has to be gathered.
  if (d == 0 && by != nullptr) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < N;
         j += (int64_t)gridDim.x * blockDim.x) {
      const int64_t id = Y[j];
      CUDA_KERNEL_ASSERT(id >= 0 && id < n && "sampled_scores: id in Y out of range [0, n_items)");
      by[j] = b[id];
    }
  }
}


// One thread per element of max(N*d, N) (work > 0), grid-stride beyond 65535 blocks.
constexpr int kGatherThreads = 256;
inline unsigned int gather_blocks(int64_t work) {
  const int64_t blocks = (work + kGatherThreads - 1) / kGatherThreads;
  return static_cast<unsigned int>(blocks < 65535 ? blocks : 65535);
}

}  // namespace sampled_scores_kernels
}  // namespace gru4rec
