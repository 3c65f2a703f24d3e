// Sampled output scores on the CPU: one prefetching gather of the N used rows of W (and
// b) into a compact N x d buffer, then the BLAS products of
// csrc/common/sampled_scores_products.h (the forward's N x B product copied to B x N by a
// tiled transpose). The gathered buffer is N x d (N ~ 2k), never
// n_items x d; the backward returns per-column row gradients (duplicates of Y are NOT
// summed here: sparse_row_update_ sums them when it applies the update).
#include "sampled_scores_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "common/sampled_scores_products.h"
#include "gather_rows_cpu.h"

namespace gru4rec {

namespace {

// R (rows x cols, contiguous) copied into a new contiguous cols x rows tensor. ATen's
// copy of R.t() walks R column by column (a strided read per element, ~45 us for the
// 2080 x 32 scores of RSC15); 32 x 32 tiles keep both sides in L1. A pure copy, so the
// result is R.t().contiguous() to the bit.
at::Tensor transposed_copy(const at::Tensor& R) {
  const int64_t rows = R.size(0), cols = R.size(1);
  at::Tensor out = at::empty({cols, rows}, R.options());
  if (R.numel() == 0) return out;
  constexpr int64_t kTile = 32;
  AT_DISPATCH_FLOATING_TYPES(R.scalar_type(), "transposed_copy", [&] {
    const scalar_t* src = R.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, (rows + kTile - 1) / kTile, 16, [&](int64_t t0, int64_t t1) {
      for (int64_t r0 = t0 * kTile; r0 < std::min(rows, t1 * kTile); r0 += kTile) {
        const int64_t r1 = std::min(rows, r0 + kTile);
        for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
          const int64_t c1 = std::min(cols, c0 + kTile);
          for (int64_t c = c0; c < c1; ++c) {
            scalar_t* out_row = dst + c * rows;
            for (int64_t r = r0; r < r1; ++r) out_row[r] = src[r * cols + c];
          }
        }
      }
    });
  });
  return out;
}

}  // namespace

at::Tensor sampled_scores_from_rows_cpu(const at::Tensor& H, const at::Tensor& Wy, const at::Tensor& by) {
  return transposed_copy(sampled_scores_transposed_from_rows(H, Wy, by));
}

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
  return sampled_scores_from_rows_cpu(H, Wy, by);
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
