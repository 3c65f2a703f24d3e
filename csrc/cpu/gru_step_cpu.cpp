#include "gru_step_cpu.h"

namespace gru4rec {

std::vector<at::Tensor> gru_step_forward_cpu(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  TORCH_CHECK(false, "gru_step_forward: CPU kernel not implemented yet");
}

std::vector<at::Tensor> gru_step_backward_cpu(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  TORCH_CHECK(false, "gru_step_backward: CPU kernel not implemented yet");
}

}  // namespace gru4rec
