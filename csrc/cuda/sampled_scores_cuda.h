// CUDA kernels of sampled_scores; same signatures as csrc/sampled_scores.h with a _cuda suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

// (W[Y], b[Y]), as sampled_scores_gather_cpu (csrc/cpu/sampled_scores_cpu.h).
std::tuple<at::Tensor, at::Tensor> sampled_scores_gather_cuda(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
at::Tensor sampled_scores_forward_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cuda(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y);

}  // namespace gru4rec
