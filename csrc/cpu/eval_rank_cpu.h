// CPU kernels of eval_rank; same signatures as csrc/eval_rank.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> eval_rank_counts_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size);

}  // namespace gru4rec
