// Kernel of eval_rank_counts (launched by csrc/cuda/eval_rank_cuda.cu; run on CPU by the
// CUDA emulation, csrc/emu/).
#pragma once
#include <cstdint>

#include "common/activations.h"
#include "common/random.h"

#include "cuda/portability.cuh"

namespace gru4rec {
namespace eval_rank_kernels {

constexpr int kThreads = 128;   // items per block (one per thread)
constexpr int kRowBlock = 16;   // rows per block; their accumulators live in registers
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float fma_rn(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fma_rn(double a, double b, double c) { return __fma_rn(a, b, c); }

// The kernel's static shared memory: one struct, so that launch_config counts exactly
// what the kernel declares.
template <typename T>
struct RowBlockShared {
  T t_score[kRowBlock];
  int64_t t_item[kRowBlock];
  uint64_t row_key[kRowBlock];
};

// Shared memory per block without opting in (static + dynamic), on every GPU since sm_20.
constexpr size_t kDefaultSharedBytes = 48 * 1024;

// Launch configuration of eval_rank_counts_kernel<T>, a host function so that a test can
// check it (no GPU needed). A block may use kDefaultSharedBytes of static plus dynamic
// shared memory; beyond that the launcher must raise the kernel's
// cudaFuncAttributeMaxDynamicSharedMemorySize to dynamic_bytes, and static + dynamic
// must fit the device's opt-in limit. (Counting the dynamic part alone, as an earlier
// version did, misses hidden sizes 764-768 in float32 and 382-384 in float64.)
struct LaunchConfig {
  unsigned int grid_x, grid_y;
  size_t dynamic_bytes, static_bytes;
  bool needs_optin;
};
template <typename T>
inline LaunchConfig launch_config(int64_t B, int64_t d, int64_t n_cols) {
  LaunchConfig c;
  const int64_t n_row_blocks = (B + kRowBlock - 1) / kRowBlock;
  c.grid_x = static_cast<unsigned int>((n_cols + kThreads - 1) / kThreads);
  c.grid_y = static_cast<unsigned int>(n_row_blocks < 65535 ? n_row_blocks : 65535);
  c.dynamic_bytes = static_cast<size_t>(kRowBlock) * static_cast<size_t>(d) * sizeof(T);
  c.static_bytes = sizeof(RowBlockShared<T>);
  c.needs_optin = c.dynamic_bytes + c.static_bytes > kDefaultSharedBytes;
  return c;
}

// act(dot + bias) + noise_scale * u(seed, row, item): shared by targets and items.
template <typename T>
__device__ __forceinline__ T final_score(T dot, T bias, int64_t act, T act_a, T act_b,
                                         bool noise, T noise_scale, uint64_t row_key,
                                         int64_t item) {
  T s = act_forward<T>(act, add_rn(dot, bias), act_a, act_b);
  if (noise) {
    const T u = unit_uniform<T>(hash_uniform_bits(row_key, static_cast<uint64_t>(item)));
    s = add_rn(s, mul_rn(noise_scale, u));
  }
  return s;
}

template <typename T>
__global__ void eval_rank_counts_kernel(const T* __restrict__ H, const T* __restrict__ W,
                                        const T* __restrict__ bias,
                                        const int64_t* __restrict__ targets,
                                        const int64_t* __restrict__ cols,  // nullptr: all items
                                        int64_t B, int64_t d, int64_t n_cols, int64_t n_items,
                                        int64_t act, T act_a, T act_b, bool noise,
                                        T noise_scale, uint64_t noise_seed,
                                        unsigned long long* __restrict__ greater,
                                        unsigned long long* __restrict__ equal) {
  G4R_DYNAMIC_SHARED(unsigned char, smem_raw);
  T* Hs = reinterpret_cast<T*>(smem_raw);  // [kRowBlock][d]
  __shared__ RowBlockShared<T> sh;  // static shared memory: counted by launch_config
  T* const t_score = sh.t_score;
  int64_t* const t_item = sh.t_item;
  uint64_t* const row_key = sh.row_key;

  const int64_t col = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const bool valid = col < n_cols;
  int64_t item = 0;
  if (valid) {
    item = cols ? cols[col] : col;
    CUDA_KERNEL_ASSERT(item >= 0 && item < n_items && "eval_rank_counts: candidate id out of range");
  }
  const T* w = W + item * d;
  const T b_item = bias[item];
  const int64_t n_row_blocks = (B + kRowBlock - 1) / kRowBlock;

  for (int64_t rb = blockIdx.y; rb < n_row_blocks; rb += gridDim.y) {
    const int64_t r0 = rb * kRowBlock;
    const int rows = static_cast<int>(B - r0 < kRowBlock ? B - r0 : kRowBlock);
    __syncthreads();  // previous iteration's readers of Hs / t_score are done
    for (int64_t idx = threadIdx.x; idx < kRowBlock * d; idx += kThreads) {
      const int64_t r = idx / d;
      Hs[idx] = r < rows ? H[(r0 + r) * d + idx % d] : T(0);
    }
    if (threadIdx.x < kRowBlock) {
      const int r = threadIdx.x;
      const uint64_t key = hash_row_key(noise_seed, static_cast<uint64_t>(r0 + r));
      row_key[r] = key;
      int64_t tgt = -1;
      T ts = T(0);
      if (r < rows) {
        tgt = targets[r0 + r];
        CUDA_KERNEL_ASSERT(tgt >= 0 && tgt < n_items && "eval_rank_counts: target id out of range");
        const T* wt = W + tgt * d;
        const T* hr = H + (r0 + r) * d;
        T acc = T(0);
        for (int64_t k = 0; k < d; ++k) acc = fma_rn(hr[k], wt[k], acc);
        ts = final_score<T>(acc, bias[tgt], act, act_a, act_b, noise, noise_scale, key, tgt);
      }
      t_item[r] = tgt;
      t_score[r] = ts;
    }
    __syncthreads();

    T acc[kRowBlock];
#pragma unroll
    for (int r = 0; r < kRowBlock; ++r) acc[r] = T(0);
    if (valid) {
#pragma unroll 4
      for (int64_t k = 0; k < d; ++k) {
        const T wk = __ldg(w + k);
#pragma unroll
        for (int r = 0; r < kRowBlock; ++r) acc[r] = fma_rn(Hs[r * d + k], wk, acc[r]);
      }
    }
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int r = 0; r < kRowBlock; ++r) {
      bool gt = false, eq = false;
      if (valid && r < rows && item != t_item[r]) {  // the target's own column is skipped
        const T s = final_score<T>(acc[r], b_item, act, act_a, act_b, noise, noise_scale,
                                   row_key[r], item);
        gt = s > t_score[r];
        eq = s == t_score[r];
      }
      const int n_gt = __popc(__ballot_sync(kFullMask, gt));
      const int n_eq = __popc(__ballot_sync(kFullMask, eq));
      if (lane == 0 && r < rows) {
        if (n_gt) atomicAdd(greater + r0 + r, static_cast<unsigned long long>(n_gt));
        if (n_eq) atomicAdd(equal + r0 + r, static_cast<unsigned long long>(n_eq));
      }
    }
  }
}

}  // namespace eval_rank_kernels
}  // namespace gru4rec
