// One GRU layer step in the spec's form (reset gate applied to h before the
// recurrent product). vx = x.Wx + b is precomputed (B x 3d, blocks [cand|r|z]).
// forward returns {out, saved...} (saved = h0, rz, hr, c, dact; see gru_step.cpp);
// backward takes dout and the saved tensors and
// returns {dvx, dh, dWrz, dWh}.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::vector<at::Tensor> gru_step_forward(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);
std::vector<at::Tensor> gru_step_backward(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);

}  // namespace gru4rec
