// For each row of H, counts over all items (or the candidate ids) how many score
// strictly above the target and how many equal it (target included), scores being
// act(H.W^T + b), tiled over items so memory stays O(B x tile).
// Returns (n_greater int64 [B], n_equal int64 [B]).
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> eval_rank_counts(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size);

}  // namespace gru4rec
