// CPU kernels of gru_step; same signatures as csrc/gru_step.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::vector<at::Tensor> gru_step_forward_cpu(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);
std::vector<at::Tensor> gru_step_backward_cpu(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);

}  // namespace gru4rec
