// The checks of fused_loss_fwd_bwd, shared by the CPU and CUDA implementations (which
// register with the dispatcher from their own files).
#include "fused_loss.h"

#include <cmath>

#include "common/checks.h"
#include "common/code_tables.h"
#include "common/enums.h"

namespace gru4rec {

void check_fused_loss_fwd_bwd_args(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  constexpr const char* op = "fused_loss_fwd_bwd";
  check_float(scores, op, "scores");
  check_dim(scores, 2, op, "scores");
  const int64_t B = scores.size(0), N = scores.size(1);
  TORCH_CHECK(N >= B, op, ": 'scores' must have at least as many columns as rows (the ",
              "positive of row i is column i), got shape ", scores.sizes());
  check_defined(col_offset, op, "col_offset");
  if (col_offset.numel() > 0) {
    check_dim(col_offset, 1, op, "col_offset");
    TORCH_CHECK(col_offset.size(0) == N, op, ": 'col_offset' must have one entry per column of ",
                "'scores' (", N, "), got ", col_offset.size(0), " (pass an empty tensor for none)");
    check_same_dtype(scores, col_offset, op, "scores", "col_offset");
    check_same_device(scores, col_offset, op, "scores", "col_offset");
  }
  TORCH_CHECK(loss >= 0 && loss < kNumLosses, op, ": unknown loss code ", loss, " (valid: ",
              valid_codes(kLossNames), ")");
  TORCH_CHECK(final_act >= 0 && final_act < kNumActivations, op,
              ": unknown final activation code ", final_act, " (valid: ",
              valid_codes(kActivations), ")");
  TORCH_CHECK(std::isfinite(act_a) && std::isfinite(act_b), op,
              ": activation parameters must be finite, got ", act_a, ", ", act_b);
  TORCH_CHECK(smoothing >= 0.0 && smoothing < 1.0, op, ": smoothing must be in [0, 1), got ",
              smoothing);
  TORCH_CHECK(std::isfinite(bpreg), op, ": bpreg must be finite, got ", bpreg);
  TORCH_CHECK(std::isfinite(scale), op, ": scale must be finite, got ", scale);
}

std::tuple<at::Tensor, at::Tensor> run_fused_loss_fwd_bwd(FusedLossFwdBwdKernel kernel, const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  check_fused_loss_fwd_bwd_args(scores, col_offset, loss, final_act, act_a, act_b, bpreg, smoothing, scale);
  const at::Tensor x = scores.contiguous();
  const at::Tensor off = col_offset.numel() > 0 ? col_offset.contiguous() : col_offset;
  return kernel(x, off, loss, final_act, act_a, act_b, bpreg, smoothing, scale);
}

}  // namespace gru4rec
