#include "sampled_scores_cpu.h"

namespace gru4rec {

at::Tensor sampled_scores_forward_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  TORCH_CHECK(false, "sampled_scores_forward: CPU kernel not implemented yet");
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cpu(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  TORCH_CHECK(false, "sampled_scores_backward: CPU kernel not implemented yet");
}

}  // namespace gru4rec
