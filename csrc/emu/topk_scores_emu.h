// topk_scores_cuda on the CPU emulation: the launches of csrc/cuda/topk_scores_cuda.cu,
// same kernels and configuration, the per-tile GEMM on the same ATen call (cuBLAS there,
// CPU here).
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>
#include <limits>

#include "common/topk_tile.h"
#include "cuda/kernels/topk_scores_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> topk_scores_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size) {
  using namespace topk_scores_kernels;
  const int64_t B = H.size(0);
  at::Tensor scores = emu::empty({B, k}, H.options());
  at::Tensor ids = emu::empty({B, k}, H.options().dtype(at::kLong));
  if (B == 0) return {scores, ids};
  const bool has_cand = candidates.numel() > 0;
  const int64_t n_cols = has_cand ? candidates.numel() : W.size(0);
  const bool rowwise = is_rowwise_activation(final_act);
  // Two lists per row, swapped after every tile (uninitialised there: poisoned here).
  at::Tensor list_l[2] = {emu::empty({B, k}, H.options()), emu::empty({B, k}, H.options())};
  at::Tensor list_id[2] = {emu::empty({B, k}, ids.options()), emu::empty({B, k}, ids.options())};
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
      g4r_emu::launch(merge_tile_kernel<scalar_t>, dim3(static_cast<unsigned int>(B)),
                      dim3(kThreads), 0, tile.logits.data_ptr<scalar_t>(), m,
                      has_cand ? tile.ids.data_ptr<int64_t>() : nullptr, c0,
                      list_l[cur].data_ptr<scalar_t>(), list_id[cur].data_ptr<int64_t>(),
                      list_cnt[cur].data_ptr<int32_t>(), list_l[1 - cur].data_ptr<scalar_t>(),
                      list_id[1 - cur].data_ptr<int64_t>(), list_cnt[1 - cur].data_ptr<int32_t>(),
                      k, ex_off, ex_ids, rowwise, run_max.data_ptr<double>(),
                      run_sum.data_ptr<double>());
      cur = 1 - cur;
    }
    const int64_t total = B * k;
    const int blocks = static_cast<int>((total + kThreads - 1) / kThreads);
    g4r_emu::launch(finish_kernel<scalar_t>, dim3(blocks), dim3(kThreads), 0,
                    list_l[cur].data_ptr<scalar_t>(), list_id[cur].data_ptr<int64_t>(),
                    list_cnt[cur].data_ptr<int32_t>(), B, k, final_act,
                    static_cast<scalar_t>(act_a), static_cast<scalar_t>(act_b),
                    run_max.data_ptr<double>(), run_sum.data_ptr<double>(),
                    scores.data_ptr<scalar_t>(), ids.data_ptr<int64_t>());
  });
  return {scores, ids};
}

}  // namespace gru4rec
