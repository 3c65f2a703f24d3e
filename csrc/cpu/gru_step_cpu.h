// CPU kernels of gru_step; same signatures as csrc/gru_step.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::vector<at::Tensor> gru_step_forward_cpu(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);
std::vector<at::Tensor> gru_step_backward_cpu(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);

// The backward without dh (returned undefined, at index 1 as in the full result): for the
// C++ training loop, which back-propagates one step and never uses dh. Skips the
// dpre_rz . Wrz^T GEMM and dh's element-wise terms; dvx, dWrz, dWh are bit-identical to
// gru_step_backward_cpu's. Same preconditions (contiguous inputs, checked shapes).
std::vector<at::Tensor> gru_step_backward_no_dh_cpu(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& keep_mask);

}  // namespace gru4rec
