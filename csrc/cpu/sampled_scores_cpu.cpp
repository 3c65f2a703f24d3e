// Sampled output scores on the CPU: one gather of the N used rows of W (and b) into a
// compact N x d buffer, then one BLAS call. The gathered buffer is N x d (N ~ 2k), never
// n_items x d; the backward returns per-column row gradients (duplicates of Y are NOT
// summed here: sparse_row_update_ sums them when it applies the update).
#include "sampled_scores_cpu.h"

namespace gru4rec {

at::Tensor sampled_scores_forward_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const int64_t B = H.size(0), N = Y.size(0);
  at::Tensor Wy = at::index_select(W, 0, Y);  // N x d, contiguous
  at::Tensor by = at::index_select(b, 0, Y);  // N
  // addmm with a broadcast bias writes S = b[Y] + H . W[Y]^T in one pass.
  return at::addmm(by.unsqueeze(0).expand({B, N}), H, Wy.t());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cpu(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  at::Tensor Wy = at::index_select(W, 0, Y);  // N x d
  at::Tensor dH = at::mm(dS, Wy);             // B x d
  at::Tensor dW_rows = at::mm(dS.t(), H);     // N x d, row j = gradient of column j's row
  at::Tensor db_rows = dS.sum(0);             // N
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
