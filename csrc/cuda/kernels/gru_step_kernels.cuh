// Element-wise kernels of gru_step (launched by csrc/cuda/gru_step_cuda.cu between the
// cuBLAS GEMMs; run on CPU by the CUDA emulation, csrc/emu/). One grid-stride kernel per
// stage.
#pragma once
#include <algorithm>
#include <cstdint>

#include "common/activations.h"

#include "cuda/portability.cuh"

namespace gru4rec {
namespace gru_step_kernels {

constexpr int kThreads = 256;

// One thread per element up to 4096 blocks (1M threads, several waves on any current
// GPU; B=240, d=512 needs 480 blocks); the grid-stride loops cover anything larger.
// A fixed cap avoids querying device properties (and the cuBLAS/cuSPARSE headers of
// ATen/cuda/CUDAContext.h) on every call.
constexpr int64_t kMaxBlocks = 4096;
inline int blocks_for(int64_t n) {
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks)));
}

#define GRU_GRID_STRIDE(i, n)                                                               \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// h0 = h with reset rows zeroed (reset: one byte per row, nonzero = new session).
template <typename T>
__global__ void zero_reset_rows_copy_kernel(const T* __restrict__ h, const uint8_t* __restrict__ reset,
                                            T* __restrict__ h0, int64_t n, int64_t d) {
  GRU_GRID_STRIDE(i, n) { h0[i] = reset[i / d] ? T(0) : h[i]; }
}

// In place on the dh rows of reset slots.
template <typename T>
__global__ void zero_reset_rows_kernel(T* __restrict__ x, const uint8_t* __restrict__ reset,
                                       int64_t n, int64_t d) {
  GRU_GRID_STRIDE(i, n) {
    if (reset[i / d]) x[i] = T(0);
  }
}

// rz (B x 2d) holds the gate pre-activations and is overwritten by the gates;
// hr = h0 * r feeds the candidate GEMM.
template <typename T>
__global__ void forward_gates_kernel(T* __restrict__ rz, const T* __restrict__ h0,
                                     T* __restrict__ hr, int64_t n, int64_t d) {
  GRU_GRID_STRIDE(i, n) {
    const int64_t b = i / d, j = i - b * d;
    T* row = rz + b * 2 * d;
    const T r = stable_sigmoid(row[j]);
    const T z = stable_sigmoid(row[d + j]);
    row[j] = r;
    row[d + j] = z;
    hr[i] = h0[i] * r;
  }
}

// c holds the candidate pre-activation and is overwritten by act(.); dact = act'(.);
// out = ((1-z) h0 + z c) * mask.
template <typename T>
__global__ void forward_out_kernel(T* __restrict__ c, T* __restrict__ dact, T* __restrict__ out,
                                   const T* __restrict__ rz, const T* __restrict__ h0,
                                   const T* __restrict__ mask, int64_t n, int64_t d, int64_t act,
                                   T a, T bb) {
  GRU_GRID_STRIDE(i, n) {
    const int64_t b = i / d, j = i - b * d;
    const T z = rz[b * 2 * d + d + j];
    const T pre = c[i];
    const T y = act_forward<T>(act, pre, a, bb);
    c[i] = y;
    dact[i] = act_derivative<T>(act, pre, y, a, bb);
    T o = (T(1) - z) * h0[i] + z * y;
    if (mask != nullptr) o *= mask[i];
    out[i] = o;
  }
}

// Stage 1 of backward: g = dout*mask; dvx[:, :d] = g*z*act'; dvx[:, 2d:] = g*(c-h0)*z(1-z);
// dh = g*(1-z).
template <typename T>
__global__ void backward_out_kernel(const T* __restrict__ dout, const T* __restrict__ mask,
                                    const T* __restrict__ rz, const T* __restrict__ h0,
                                    const T* __restrict__ c, const T* __restrict__ dact,
                                    T* __restrict__ dvx, T* __restrict__ dh, int64_t n, int64_t d) {
  GRU_GRID_STRIDE(i, n) {
    const int64_t b = i / d, j = i - b * d;
    const T g = mask != nullptr ? dout[i] * mask[i] : dout[i];
    const T z = rz[b * 2 * d + d + j];
    T* drow = dvx + b * 3 * d;
    drow[j] = g * z * dact[i];
    drow[2 * d + j] = g * (c[i] - h0[i]) * z * (T(1) - z);
    dh[i] = g * (T(1) - z);
  }
}

// Stage 2 of backward: dvx[:, d:2d] = dhr*h0*r(1-r); dh += dhr*r.
template <typename T>
__global__ void backward_reset_gate_kernel(const T* __restrict__ dhr, const T* __restrict__ rz,
                                           const T* __restrict__ h0, T* __restrict__ dvx,
                                           T* __restrict__ dh, int64_t n, int64_t d) {
  GRU_GRID_STRIDE(i, n) {
    const int64_t b = i / d, j = i - b * d;
    const T r = rz[b * 2 * d + j];
    const T g = dhr[i];
    dvx[b * 3 * d + d + j] = g * h0[i] * r * (T(1) - r);
    dh[i] += g * r;
  }
}

}  // namespace gru_step_kernels
}  // namespace gru4rec
