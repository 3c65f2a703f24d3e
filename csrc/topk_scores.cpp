// The checks of topk_scores, shared by the CPU and CUDA implementations (which register
// with the dispatcher from their own files).
#include "topk_scores.h"

#include "common/checks.h"
#include "common/code_tables.h"
#include "common/enums.h"

namespace gru4rec {

void check_topk_scores_args(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size) {
  constexpr const char* op = "topk_scores";
  check_hidden_table_ids(H, W, candidates, op, "candidates");
  check_float(b, op, "b");
  check_dim(b, 1, op, "b");
  check_same_dtype(H, b, op, "H", "b");
  check_same_device(H, b, op, "H", "b");
  check_index(exclude_offsets, op, "exclude_offsets");
  check_index(exclude_ids, op, "exclude_ids");
  check_dim(exclude_offsets, 1, op, "exclude_offsets");
  check_dim(exclude_ids, 1, op, "exclude_ids");
  check_same_device(H, exclude_offsets, op, "H", "exclude_offsets");
  check_same_device(H, exclude_ids, op, "H", "exclude_ids");
  TORCH_CHECK(b.size(0) == W.size(0), op, ": b has ", b.size(0), " entries but W has ",
              W.size(0), " item rows");
  TORCH_CHECK(k >= 1, op, ": k must be >= 1, got ", k);
  TORCH_CHECK(tile_size > 0, op, ": tile_size must be > 0, got ", tile_size);
  TORCH_CHECK(final_act >= 0 && final_act < kNumActivations, op,
              ": unknown final activation code ", final_act, " (valid: ",
              valid_codes(kActivations), ")");
  const int64_t B = H.size(0);
  // Exclusions are a CSR list per row: row r excludes exclude_ids[off[r]:off[r+1]].
  // An empty offsets tensor means "nothing excluded".
  TORCH_CHECK(exclude_offsets.numel() == 0 || exclude_offsets.numel() == B + 1, op,
              ": exclude_offsets must be empty or have B + 1 = ", B + 1, " entries, got ",
              exclude_offsets.numel());
  if (exclude_offsets.is_cpu() && exclude_offsets.numel() > 0) {
    const int64_t* o = exclude_offsets.contiguous().data_ptr<int64_t>();
    TORCH_CHECK(o[0] == 0 && o[B] == exclude_ids.numel(), op,
                ": exclude_offsets must start at 0 and end at len(exclude_ids) = ",
                exclude_ids.numel());
    for (int64_t r = 0; r < B; ++r)
      TORCH_CHECK(o[r + 1] >= o[r], op, ": exclude_offsets must be nondecreasing (row ", r, ")");
  }
  check_ids_in_range_cpu(candidates, W.size(0), op, "candidates");
}

std::tuple<at::Tensor, at::Tensor> run_topk_scores(TopkScoresKernel kernel, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size) {
  check_topk_scores_args(H, W, b, candidates, exclude_offsets, exclude_ids, k, final_act, act_a, act_b, tile_size);
  const at::Tensor Hc = H.contiguous(), Wc = W.contiguous(), bc = b.contiguous();
  const at::Tensor cc = candidates.contiguous(), oc = exclude_offsets.contiguous();
  const at::Tensor ec = exclude_ids.contiguous();
  return kernel(Hc, Wc, bc, cc, oc, ec, k, final_act, act_a, act_b, tile_size);
}

}  // namespace gru4rec
