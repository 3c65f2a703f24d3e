// One GRU layer step in the spec's form (reset gate applied to h before the
// recurrent product). vx = x.Wx + b is precomputed (B x 3d, blocks [cand|r|z]).
// forward returns {out, saved...} (saved = h0, rz, hr, c, dact; see gru_step.cpp);
// backward takes dout and the saved tensors and
// returns {dvx, dh, dWrz, dWh}.
// The operators (schemas in csrc/op_schemas.h) run run_<op> bound to the CPU or CUDA
// kernel; both check their arguments with check_<op>_args first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

#include "cpu/gru_step_cpu.h"

namespace gru4rec {

using GruStepForwardKernel = decltype(&gru_step_forward_cpu);
using GruStepBackwardKernel = decltype(&gru_step_backward_cpu);
// The operators return fixed tuples (what torch.compile and autograd handle best):
// (out, h0, rz, hr, c, dact) and (dvx, dh, dWrz, dWh).
using GruStepForwardResult = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>;
using GruStepBackwardResult = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>;

void check_gru_step_forward_args(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);
void check_gru_step_backward_args(const at::Tensor& dout, at::TensorList saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);
GruStepForwardResult run_gru_step_forward(GruStepForwardKernel kernel, const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);
GruStepBackwardResult run_gru_step_backward(GruStepBackwardKernel kernel, const at::Tensor& dout, at::TensorList saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b);

}  // namespace gru4rec
