// CPU kernels of sampled_scores; same signatures as csrc/sampled_scores.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

// (W[Y], b[Y]): the N scored rows and biases gathered once (b may be undefined: then
// b[Y] is too). The training loop reuses them for its forward and backward.
std::tuple<at::Tensor, at::Tensor> sampled_scores_gather_cpu(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
// S (B x N) from the gathered rows: sampled_scores_from_rows
// (csrc/common/sampled_scores_products.h) to the bit, with the CPU's own transposed copy.
at::Tensor sampled_scores_from_rows_cpu(const at::Tensor& H, const at::Tensor& Wy, const at::Tensor& by);
at::Tensor sampled_scores_forward_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y);
std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cpu(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y);

}  // namespace gru4rec
