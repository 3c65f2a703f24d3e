#include "fused_loss.h"
#include "common/checks.h"
#include "cpu/fused_loss_cpu.h"
#ifdef WITH_CUDA
#include "cuda/fused_loss_cuda.h"
#endif

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (scores.is_cuda()) {
#ifdef WITH_CUDA
    return fused_loss_fwd_bwd_cuda(scores, col_offset, loss, final_act, act_a, act_b, bpreg, smoothing, scale);
#else
    TORCH_CHECK(false, "fused_loss_fwd_bwd: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return fused_loss_fwd_bwd_cpu(scores, col_offset, loss, final_act, act_a, act_b, bpreg, smoothing, scale);
}

}  // namespace gru4rec
