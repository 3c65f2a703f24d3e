// S = H . W[Y]^T + b[Y] (B x N) and its backward: dH and per-column row gradients
// (N x d, N) for the gathered rows; never a dense n_items x d tensor.
// The operators (schemas in csrc/op_schemas.h) run run_sampled_scores_* bound to the
// CPU or CUDA kernel; both check their arguments here first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>

#include "cpu/sampled_scores_cpu.h"

namespace gru4rec {

using SampledScoresForwardKernel = decltype(&sampled_scores_forward_cpu);
using SampledScoresBackwardKernel = decltype(&sampled_scores_backward_cpu);

void check_sampled_scores_forward_args(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
void check_sampled_scores_backward_args(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y);

at::Tensor run_sampled_scores_forward(SampledScoresForwardKernel kernel, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
std::tuple<at::Tensor, at::Tensor, at::Tensor> run_sampled_scores_backward(SampledScoresBackwardKernel kernel, const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y);

}  // namespace gru4rec
