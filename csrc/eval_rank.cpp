// The checks of eval_rank_counts, shared by the CPU and CUDA implementations (which register
// with the dispatcher from their own files).
#include "eval_rank.h"

#include <cmath>

#include "common/checks.h"
#include "common/code_tables.h"
#include "common/enums.h"

namespace gru4rec {

void check_eval_rank_counts_args(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  constexpr const char* op = "eval_rank_counts";
  check_hidden_table_ids(H, W, targets, op, "targets");
  check_float(b, op, "b");
  check_index(candidates, op, "candidates");
  check_dim(b, 1, op, "b");
  check_dim(candidates, 1, op, "candidates");
  check_same_dtype(H, b, op, "H", "b");
  check_same_device(H, b, op, "H", "b");
  check_same_device(H, candidates, op, "H", "candidates");
  TORCH_CHECK(b.size(0) == W.size(0), op, ": b has ", b.size(0), " entries but W has ",
              W.size(0), " item rows");
  TORCH_CHECK(targets.size(0) == H.size(0), op, ": targets has ", targets.size(0),
              " entries but H has ", H.size(0), " rows");
  TORCH_CHECK(final_act >= 0 && final_act < kNumActivations, op,
              ": unknown final activation code ", final_act, " (valid: ",
              valid_codes(kActivations), ")");
  TORCH_CHECK(std::isfinite(noise_scale) && noise_scale >= 0.0, op,
              ": noise_scale must be finite and >= 0, got ", noise_scale);
  TORCH_CHECK(tile_size > 0, op, ": tile_size must be > 0, got ", tile_size);
  const int64_t n_items = W.size(0);
  TORCH_CHECK(n_items > 0 || H.size(0) == 0, op, ": W has no items to rank against");
  check_ids_in_range_cpu(targets, n_items, op, "targets");
  check_ids_in_range_cpu(candidates, n_items, op, "candidates");
}

std::tuple<at::Tensor, at::Tensor> run_eval_rank_counts(EvalRankCountsKernel kernel, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  check_eval_rank_counts_args(H, W, b, targets, candidates, final_act, act_a, act_b, noise_scale, noise_seed, tile_size);
  // softmax and softmax_logit are strictly monotone per row in the raw logit (softmax
  // increasing; softmax_logit = -log softmax is its negation, i.e. a loss-like
  // "score", but it still orders items by probability): rank on the raw logits. This
  // is also what avoids false ties where float32 probabilities underflow to 0.
  if (is_rowwise_activation(final_act)) final_act = ACT_LINEAR;

  const at::Tensor Hc = H.contiguous(), Wc = W.contiguous(), bc = b.contiguous();
  const at::Tensor tc = targets.contiguous(), cc = candidates.contiguous();
  return kernel(Hc, Wc, bc, tc, cc, final_act, act_a, act_b, noise_scale, noise_seed, tile_size);
}

}  // namespace gru4rec
