#include "eval_rank_cpu.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> eval_rank_counts_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  TORCH_CHECK(false, "eval_rank_counts: CPU kernel not implemented yet");
}

}  // namespace gru4rec
