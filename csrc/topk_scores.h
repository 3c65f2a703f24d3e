// Top-k items per row of H under scores act(H.W^T + b), tiled over items so that no
// B x n score matrix exists beyond one tile (per CPU task). Items are ranked by the raw
// logit H.W_j + b_j, higher first, ties to the lower item id; each item id appears at
// most once (duplicate candidates count once in the list), excluded (row, item) pairs
// never appear. Returned scores are after the final activation; the row-wise ones
// (softmax, softmax_logit) normalise over every column given (excluded ones and
// duplicates included).
// Returns (scores [B, k] of H's dtype, ids int64 [B, k]); where a row has fewer than k
// rankable items its trailing entries are id -1 with score NaN.
// The operators (schemas in csrc/op_schemas.h) run run_<op> bound to the CPU or CUDA
// kernel; both check their arguments with check_<op>_args first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>

#include "cpu/topk_scores_cpu.h"

namespace gru4rec {

using TopkScoresKernel = decltype(&topk_scores_cpu);

void check_topk_scores_args(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size);
std::tuple<at::Tensor, at::Tensor> run_topk_scores(TopkScoresKernel kernel, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size);

}  // namespace gru4rec
