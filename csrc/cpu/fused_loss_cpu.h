// CPU kernels of fused_loss; same signatures as csrc/fused_loss.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cpu(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale);

}  // namespace gru4rec
