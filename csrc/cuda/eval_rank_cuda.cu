// CUDA ranking counts. Block (x, y) scores kThreads items (one per thread) against a
// block of kRowBlock rows staged in shared memory, compares each score with the rows'
// target scores and adds the counts with 64-bit integer atomics (integer sums are exact
// and order-free, hence deterministic). No score matrix is stored.
//
// Exact ties: every dot product, the targets' included, is the same sequence of
// explicit fma() calls over k = 0..d-1 from a zero accumulator, then explicit
// round-to-nearest add of the bias and of the noise, so a target's score is
// bit-identical to its score in the item loop whatever the compiler's contraction
// choices.
#include "eval_rank_cuda.h"

#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAStream.h>  // not ATen/cuda/CUDAContext.h: it drags in cuSPARSE/cuBLAS headers
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "common/activations.h"
#include "common/random.h"

namespace gru4rec {

namespace {

constexpr int kThreads = 128;   // items per block (one per thread)
constexpr int kRowBlock = 16;   // rows per block; their accumulators live in registers
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float fma_rn(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fma_rn(double a, double b, double c) { return __fma_rn(a, b, c); }

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
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Hs = reinterpret_cast<T*>(smem_raw);  // [kRowBlock][d]
  __shared__ T t_score[kRowBlock];
  __shared__ int64_t t_item[kRowBlock];
  __shared__ uint64_t row_key[kRowBlock];

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

}  // namespace

std::tuple<at::Tensor, at::Tensor> eval_rank_counts_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  (void)tile_size;  // memory is O(B) here whatever the tile: no score tile is stored
  const c10::cuda::CUDAGuard guard(H.device());
  const int64_t B = H.size(0), d = H.size(1), n_items = W.size(0);
  at::Tensor greater = at::zeros({B}, targets.options());
  at::Tensor equal = at::zeros({B}, targets.options());
  if (B == 0) return {greater, equal};
  const bool has_cols = candidates.numel() > 0;
  const int64_t n_cols = has_cols ? candidates.numel() : n_items;
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "eval_rank_counts_cuda", [&] {
    const size_t smem = static_cast<size_t>(kRowBlock) * d * sizeof(scalar_t);
    auto kernel = eval_rank_counts_kernel<scalar_t>;
    if (smem > 48 * 1024) {
      const int dev = H.get_device();
      int max_optin = 0;
      C10_CUDA_CHECK(cudaDeviceGetAttribute(&max_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
      TORCH_CHECK(smem + 1024 <= static_cast<size_t>(max_optin), "eval_rank_counts: hidden size ", d,
                  " needs ", smem, " bytes of shared memory per block, the GPU allows ", max_optin);
      C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
    }
    const int64_t n_row_blocks = (B + kRowBlock - 1) / kRowBlock;
    const dim3 grid(static_cast<unsigned>((n_cols + kThreads - 1) / kThreads),
                    static_cast<unsigned>(std::min<int64_t>(n_row_blocks, 65535)));
    TORCH_CHECK((n_cols + kThreads - 1) / kThreads < (int64_t(1) << 31),
                "eval_rank_counts: too many items for one launch");
    kernel<<<grid, kThreads, smem, stream>>>(
        H.data_ptr<scalar_t>(), W.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
        targets.data_ptr<int64_t>(), has_cols ? candidates.data_ptr<int64_t>() : nullptr, B, d,
        n_cols, n_items, final_act, static_cast<scalar_t>(act_a), static_cast<scalar_t>(act_b),
        noise_scale > 0.0, static_cast<scalar_t>(noise_scale), static_cast<uint64_t>(noise_seed),
        reinterpret_cast<unsigned long long*>(greater.data_ptr<int64_t>()),
        reinterpret_cast<unsigned long long*>(equal.data_ptr<int64_t>()));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  equal.add_(1);  // the target counts itself once (its own column is skipped)
  return {greater, equal};
}

}  // namespace gru4rec
