// CPU kernel of topk_scores; same signature as csrc/topk_scores.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> topk_scores_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size);

}  // namespace gru4rec
