// Sampled output scores on the CPU: one prefetching gather of the N used rows of W (and
// b) into a compact N x d buffer, then the BLAS products of
// csrc/common/sampled_scores_products.h. The gathered buffer is N x d (N ~ 2k), never
// n_items x d; the backward returns per-column row gradients (duplicates of Y are NOT
// summed here: sparse_row_update_ sums them when it applies the update).
#include "sampled_scores_cpu.h"

#include "common/sampled_scores_products.h"
#include "gather_rows_cpu.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> sampled_scores_gather_cpu(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const at::Tensor Yc = Y.contiguous();
  // The prefetching gather needs a contiguous table; a strided one (rare: a user's view)
  // goes through index_select rather than a copy of the whole table.
  at::Tensor Wy = W.is_contiguous() ? gather_rows_cpu(W, Yc) : at::index_select(W, 0, Yc);
  at::Tensor by = b.defined() ? at::index_select(b, 0, Yc) : at::Tensor();
  return std::make_tuple(Wy, by);
}

at::Tensor sampled_scores_forward_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  auto [Wy, by] = sampled_scores_gather_cpu(W, b, Y);
  return sampled_scores_from_rows(H, Wy, by);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cpu(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  at::Tensor Wy = std::get<0>(sampled_scores_gather_cpu(W, at::Tensor(), Y));
  at::Tensor dW_rows = at::empty({Y.size(0), W.size(1)}, W.options());
  auto [dH, db_rows] = sampled_scores_grads_from_rows(dS, H, Wy, dW_rows);
  return std::make_tuple(dH, dW_rows, db_rows);
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/sampled_scores.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "sampled_scores.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "sampled_scores_forward", run_sampled_scores_forward, sampled_scores_forward_cpu);
  G4R_IMPL(m, "sampled_scores_backward", run_sampled_scores_backward, sampled_scores_backward_cpu);
}
