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

#include "cuda/kernels/eval_rank_kernels.cuh"

namespace gru4rec {

using namespace eval_rank_kernels;

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
    TORCH_CHECK((n_cols + kThreads - 1) / kThreads < (int64_t(1) << 31),
                "eval_rank_counts: too many items for one launch");
    const LaunchConfig cfg = launch_config<scalar_t>(B, d, n_cols);
    auto kernel = eval_rank_counts_kernel<scalar_t>;
    if (cfg.needs_optin) {
      const int dev = H.get_device();
      int max_optin = 0;
      C10_CUDA_CHECK(cudaDeviceGetAttribute(&max_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
      TORCH_CHECK(cfg.dynamic_bytes + cfg.static_bytes <= static_cast<size_t>(max_optin),
                  "eval_rank_counts: hidden size ", d, " needs ",
                  cfg.dynamic_bytes + cfg.static_bytes,
                  " bytes of shared memory per block, the GPU allows ", max_optin);
      C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(cfg.dynamic_bytes)));
    }
    const dim3 grid(cfg.grid_x, cfg.grid_y);
    kernel<<<grid, kThreads, cfg.dynamic_bytes, stream>>>(
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

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/eval_rank.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "eval_rank.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "eval_rank_counts", run_eval_rank_counts, eval_rank_counts_cuda);
}
