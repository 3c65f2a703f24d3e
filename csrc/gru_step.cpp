#include "gru_step.h"
#include "common/checks.h"
#include "cpu/gru_step_cpu.h"
#ifdef WITH_CUDA
#include "cuda/gru_step_cuda.h"
#endif

namespace gru4rec {

std::vector<at::Tensor> gru_step_forward(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (vx.is_cuda()) {
#ifdef WITH_CUDA
    return gru_step_forward_cuda(vx, h, Wrz, Wh, reset, keep_mask, act, act_a, act_b);
#else
    TORCH_CHECK(false, "gru_step_forward: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return gru_step_forward_cpu(vx, h, Wrz, Wh, reset, keep_mask, act, act_a, act_b);
}

std::vector<at::Tensor> gru_step_backward(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (dout.is_cuda()) {
#ifdef WITH_CUDA
    return gru_step_backward_cuda(dout, saved, Wrz, Wh, reset, keep_mask, act, act_a, act_b);
#else
    TORCH_CHECK(false, "gru_step_backward: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return gru_step_backward_cpu(dout, saved, Wrz, Wh, reset, keep_mask, act, act_a, act_b);
}

}  // namespace gru4rec
