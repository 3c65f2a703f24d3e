#include "gru_step_cuda.h"

namespace gru4rec {

std::vector<at::Tensor> gru_step_forward_cuda(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  TORCH_CHECK(false, "gru_step_forward: CUDA kernel not implemented yet");
}

std::vector<at::Tensor> gru_step_backward_cuda(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  TORCH_CHECK(false, "gru_step_backward: CUDA kernel not implemented yet");
}

}  // namespace gru4rec
