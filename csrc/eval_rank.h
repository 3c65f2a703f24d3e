// For each row of H, counts over all items (or the candidate ids) how many score
// strictly above the target and how many equal it (target included), scores being
// act(H.W^T + b), tiled over items so memory stays O(B x tile).
// Returns (n_greater int64 [B], n_equal int64 [B]).
// The operators (schemas in csrc/op_schemas.h) run run_<op> bound to the CPU or CUDA
// kernel; both check their arguments with check_<op>_args first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

#include "cpu/eval_rank_cpu.h"

namespace gru4rec {

using EvalRankCountsKernel = decltype(&eval_rank_counts_cpu);

void check_eval_rank_counts_args(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size);
std::tuple<at::Tensor, at::Tensor> run_eval_rank_counts(EvalRankCountsKernel kernel, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size);

}  // namespace gru4rec
