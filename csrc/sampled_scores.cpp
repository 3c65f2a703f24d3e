#include "sampled_scores.h"
#include "common/checks.h"
#include "cpu/sampled_scores_cpu.h"
#ifdef WITH_CUDA
#include "cuda/sampled_scores_cuda.h"
#endif

namespace gru4rec {

at::Tensor sampled_scores_forward(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (H.is_cuda()) {
#ifdef WITH_CUDA
    return sampled_scores_forward_cuda(H, W, b, Y);
#else
    TORCH_CHECK(false, "sampled_scores_forward: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return sampled_scores_forward_cpu(H, W, b, Y);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (dS.is_cuda()) {
#ifdef WITH_CUDA
    return sampled_scores_backward_cuda(dS, H, W, Y);
#else
    TORCH_CHECK(false, "sampled_scores_backward: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return sampled_scores_backward_cpu(dS, H, W, Y);
}

}  // namespace gru4rec
