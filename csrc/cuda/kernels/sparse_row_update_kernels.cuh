// Kernel of sparse_row_update_ (launched by csrc/cuda/sparse_row_update_cuda.cu after the
// radix sort; run on CPU by the CUDA emulation, csrc/emu/): one warp per sorted position;
// the first warp of each run of equal ids sums the run and applies the optimiser once.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/enums.h"

#include "cuda/portability.cuh"

namespace gru4rec {
namespace sparse_row_update_kernels {

constexpr int kWarp = 32;
constexpr int kThreads = 256;  // 8 warps per block

template <typename T>
struct Hyper {
  T lr, momentum, lmbd, eps, p1, p2;
};

__device__ __forceinline__ float pow_t(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double pow_t(double a, double b) { return pow(a, b); }

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
    bc1 = T(1) - pow_t(h.p1, steps);
    bc2 = T(1) - pow_t(h.p2, steps);
  }
  const int64_t row = id * d;
  for (int64_t c = lane; c < d; c += kWarp) {
    T g = G[sorted_pos[first] * d + c];
    for (int64_t j = first + 1; j < last; ++j) g += G[sorted_pos[j] * d + c];
    const int64_t k = row + c;
    const T p = P[k];
    T u;
    if constexpr (OPT == OPT_SGD) {
      u = g;
    } else if constexpr (OPT == OPT_ADAGRAD) {
      const T a = S1[k] + g * g;
      S1[k] = a;
      u = g / ::sqrt(a + h.eps);
    } else if constexpr (OPT == OPT_RMSPROP) {
      const T a = h.p1 * S1[k] + (T(1) - h.p1) * g * g;
      S1[k] = a;
      u = g / ::sqrt(a + h.eps);
    } else if constexpr (OPT == OPT_ADAM) {
      const T m = h.p1 * S2[k] + (T(1) - h.p1) * g;
      const T a = h.p2 * S1[k] + (T(1) - h.p2) * g * g;
      S2[k] = m;
      S1[k] = a;
      u = (m / bc1) / (::sqrt(a / bc2) + h.eps);
    } else {  // OPT_ADADELTA
      const T a = h.p1 * S1[k] + (T(1) - h.p1) * g * g;
      S1[k] = a;
      const T s2 = S2[k];
      u = g * ::sqrt(s2 + h.eps) / ::sqrt(a + h.eps);
      S2[k] = h.p1 * s2 + (T(1) - h.p1) * u * u;
    }
    // L2 outside the adaptive scaling (never in an accumulator), as the original.
    if (h.lmbd != T(0)) u += h.lmbd * p;
    if constexpr (MOMENTUM) {
      const T vel = h.momentum * V[k] - h.lr * u;
      V[k] = vel;
      P[k] = p + vel;
    } else {
      P[k] = p - h.lr * u;
    }
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
