#include "eval_rank.h"
#include "common/checks.h"
#include "cpu/eval_rank_cpu.h"
#ifdef WITH_CUDA
#include "cuda/eval_rank_cuda.h"
#endif

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> eval_rank_counts(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (H.is_cuda()) {
#ifdef WITH_CUDA
    return eval_rank_counts_cuda(H, W, b, targets, candidates, final_act, act_a, act_b, noise_scale, noise_seed, tile_size);
#else
    TORCH_CHECK(false, "eval_rank_counts: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return eval_rank_counts_cpu(H, W, b, targets, candidates, final_act, act_a, act_b, noise_scale, noise_seed, tile_size);
}

}  // namespace gru4rec
