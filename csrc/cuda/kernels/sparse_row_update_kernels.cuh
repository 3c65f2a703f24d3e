// Kernel of sparse_row_update_ (launched by csrc/cuda/sparse_row_update_cuda.cu after the
// radix sort; run on CPU by the CUDA emulation, csrc/emu/): one warp per sorted position;
// the first warp of each run of equal ids sums the run and applies the optimiser once.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/enums.h"
#include "common/optimizers.h"

#include "cuda/portability.cuh"

namespace gru4rec {
namespace sparse_row_update_kernels {

constexpr int kWarp = 32;
constexpr int kThreads = 256;  // 8 warps per block

template <typename T>
using Hyper = OptimizerHyper<T>;

template <typename T, int64_t OPT, bool MOMENTUM>
__global__ void sparse_row_update_kernel(T* __restrict__ P, const T* __restrict__ G,
                                         T* __restrict__ S1, T* __restrict__ S2,
                                         T* __restrict__ V, T* __restrict__ STEP,
                                         const int64_t* __restrict__ sorted_ids,
                                         const int64_t* __restrict__ sorted_pos, int64_t M,
                                         int64_t d, int64_t n, Hyper<T> h) {
  const int64_t first = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (first >= M) return;  // whole warp leaves together (first is warp-uniform)
  const int64_t id = sorted_ids[first];
  if (first > 0 && sorted_ids[first - 1] == id) return;  // not the start of a run
  CUDA_KERNEL_ASSERT(id >= 0 && id < n && "sparse_row_update_: id out of range [0, n)");
  int64_t last = first + 1;
  while (last < M && sorted_ids[last] == id) ++last;

  T bc1 = T(1), bc2 = T(1);
  if constexpr (OPT == OPT_ADAM) {
    // Lazy Adam: per-row step count. Every lane reads before lane 0 writes.
    const T steps = STEP[id] + T(1);
    __syncwarp();
    if (lane == 0) STEP[id] = steps;
    bc1 = adam_bias_correction(h.p1, steps);  // double, as on CPU (optimizers.h)
    bc2 = adam_bias_correction(h.p2, steps);
  }
  const int64_t row = id * d;
  for (int64_t c = lane; c < d; c += kWarp) {
    T g = G[sorted_pos[first] * d + c];
    for (int64_t j = first + 1; j < last; ++j) g += G[sorted_pos[j] * d + c];
    const int64_t k = row + c;
    // The per-element formulas are csrc/common/optimizers.h's, shared with the tests'
    // view of the CPU kernel; unused state pointers are null and never touched.
    const T u = adapted_gradient<OPT, T>(g, S1 ? S1 + k : nullptr, S2 ? S2 + k : nullptr, h,
                                         bc1, bc2);
    P[k] = step_parameter<MOMENTUM, T>(P[k], u, MOMENTUM ? V + k : nullptr, h);
  }
}

inline int bits_for(uint64_t max_value) {
  int b = 0;
  while (b < 64 && (max_value >> b) != 0) ++b;
  return b;
}

// One warp per sorted position: M warps of kThreads / kWarp per block (M > 0).
inline unsigned int n_blocks(int64_t M) {
  return static_cast<unsigned int>((M * kWarp + kThreads - 1) / kThreads);
}

}  // namespace sparse_row_update_kernels
}  // namespace gru4rec
