#include "fused_loss.h"

#include <cmath>

#include "common/checks.h"
#include "common/code_tables.h"
#include "common/enums.h"
#include "cpu/fused_loss_cpu.h"
#ifdef WITH_CUDA
#include "cuda/fused_loss_cuda.h"
#endif

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
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
  const at::Tensor x = scores.contiguous();
  const at::Tensor off = col_offset.numel() > 0 ? col_offset.contiguous() : col_offset;
  if (runs_cuda_kernels(x)) {
#ifdef WITH_CUDA
    return fused_loss_fwd_bwd_cuda(x, off, loss, final_act, act_a, act_b, bpreg, smoothing, scale);
#else
    TORCH_CHECK(false, op, ": gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  TORCH_CHECK(x.is_cpu(), op, ": 'scores' must be a CPU or CUDA tensor, got ", x.device());
  return fused_loss_fwd_bwd_cpu(x, off, loss, final_act, act_a, act_b, bpreg, smoothing, scale);
}

}  // namespace gru4rec
