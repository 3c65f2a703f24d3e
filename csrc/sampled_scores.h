// S = H . W[Y]^T + b[Y] (B x N) and its backward: dH and per-column row gradients
// (N x d, N) for the gathered rows; never a dense n_items x d tensor.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

at::Tensor sampled_scores_forward(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y);

}  // namespace gru4rec
