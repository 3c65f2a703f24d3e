// CUDA top-k. The host walks the items in tiles: one cuBLAS GEMM scores a tile
// (B x tile logits, the only score matrix), then merge_tile_kernel
// (csrc/cuda/kernels/topk_scores_kernels.cuh), one block per row, merges the tile into
// the row's running list of the k best (logit, id) pairs; finish_kernel applies the final
// activation.
#include "topk_scores_cuda.h"

#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <limits>

#include "common/topk_tile.h"
#include "cuda/kernels/topk_scores_kernels.cuh"

namespace gru4rec {

using namespace topk_scores_kernels;

std::tuple<at::Tensor, at::Tensor> topk_scores_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size) {
  const c10::cuda::CUDAGuard guard(H.device());
  const int64_t B = H.size(0);
  at::Tensor scores = at::empty({B, k}, H.options());
  at::Tensor ids = at::empty({B, k}, H.options().dtype(at::kLong));
  if (B == 0) return {scores, ids};
  const bool has_cand = candidates.numel() > 0;
  const int64_t n_cols = has_cand ? candidates.numel() : W.size(0);
  const bool rowwise = is_rowwise_activation(final_act);
  auto stream = c10::cuda::getCurrentCUDAStream();
  // Two lists per row, swapped after every tile.
  at::Tensor list_l[2] = {at::empty({B, k}, H.options()), at::empty({B, k}, H.options())};
  at::Tensor list_id[2] = {at::empty({B, k}, ids.options()), at::empty({B, k}, ids.options())};
  at::Tensor list_cnt[2] = {at::zeros({B}, H.options().dtype(at::kInt)),
                            at::zeros({B}, H.options().dtype(at::kInt))};
  const auto dopts = H.options().dtype(at::kDouble);
  at::Tensor run_max = at::full({B}, -std::numeric_limits<double>::infinity(), dopts);
  at::Tensor run_sum = at::zeros({B}, dopts);
  const int64_t* ex_off = exclude_offsets.numel() > 0 ? exclude_offsets.data_ptr<int64_t>() : nullptr;
  const int64_t* ex_ids = exclude_ids.numel() > 0 ? exclude_ids.data_ptr<int64_t>() : nullptr;
  int cur = 0;
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "topk_scores_cuda", [&] {
    for (int64_t c0 = 0; c0 < n_cols; c0 += tile_size) {
      const int64_t m = std::min(tile_size, n_cols - c0);
      const TopkTile tile = topk_tile_logits(H, W, b, candidates, c0, m);
      merge_tile_kernel<scalar_t><<<B, kThreads, 0, stream>>>(
          tile.logits.data_ptr<scalar_t>(), m,
          has_cand ? tile.ids.data_ptr<int64_t>() : nullptr, c0,
          list_l[cur].data_ptr<scalar_t>(), list_id[cur].data_ptr<int64_t>(),
          list_cnt[cur].data_ptr<int32_t>(), list_l[1 - cur].data_ptr<scalar_t>(),
          list_id[1 - cur].data_ptr<int64_t>(), list_cnt[1 - cur].data_ptr<int32_t>(), k,
          ex_off, ex_ids, rowwise, run_max.data_ptr<double>(), run_sum.data_ptr<double>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      cur = 1 - cur;
    }
    const int64_t total = B * k;
    const int blocks = static_cast<int>((total + kThreads - 1) / kThreads);
    finish_kernel<scalar_t><<<blocks, kThreads, 0, stream>>>(
        list_l[cur].data_ptr<scalar_t>(), list_id[cur].data_ptr<int64_t>(),
        list_cnt[cur].data_ptr<int32_t>(), B, k, final_act, static_cast<scalar_t>(act_a),
        static_cast<scalar_t>(act_b), run_max.data_ptr<double>(), run_sum.data_ptr<double>(),
        scores.data_ptr<scalar_t>(), ids.data_ptr<int64_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {scores, ids};
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/topk_scores.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "topk_scores.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "topk_scores", run_topk_scores, topk_scores_cuda);
}
