// Loss and dLoss/dscores in one pass from raw scores (B x N): optional per-column
// offset (logQ) subtracted, final activation, loss, times `scale` (1/batch_size).
// Returns (0-dim loss, dscores B x N).
// Defined edge cases: B == 0 gives loss 0 and an empty (0 x N) dscores; N == 1 makes
// smoothing a no-op and leaves the max-losses without negatives (bpr-max -log(1e-24),
// top1-max 0, zero gradient); a row with a non-finite score gives a NaN loss and a NaN
// gradient row. Deterministic: the same inputs give bit-identical results on a device
// whatever the thread count (CPU) or scheduling (CUDA, no atomics).
// The operators (schemas in csrc/op_schemas.h) run run_<op> bound to the CPU or CUDA
// kernel; both check their arguments with check_<op>_args first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

#include "cpu/fused_loss_cpu.h"

namespace gru4rec {

using FusedLossFwdBwdKernel = decltype(&fused_loss_fwd_bwd_cpu);

void check_fused_loss_fwd_bwd_args(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale);
std::tuple<at::Tensor, at::Tensor> run_fused_loss_fwd_bwd(FusedLossFwdBwdKernel kernel, const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale);

}  // namespace gru4rec
