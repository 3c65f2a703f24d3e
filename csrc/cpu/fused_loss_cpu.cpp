#include "fused_loss_cpu.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cpu(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  TORCH_CHECK(false, "fused_loss_fwd_bwd: CPU kernel not implemented yet");
}

}  // namespace gru4rec
