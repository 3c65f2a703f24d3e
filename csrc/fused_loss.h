// Loss and dLoss/dscores in one pass from raw scores (B x N): optional per-column
// offset (logQ) subtracted, final activation, loss, times `scale` (1/batch_size).
// Returns (0-dim loss, dscores B x N).
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale);

}  // namespace gru4rec
