// CPU kernels of sparse_row_update; same signatures as csrc/sparse_row_update.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

void sparse_row_update_cpu_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic);

// One row-sparse table as the optimiser step takes it: the 2-D parameter, its gradient
// rows (contiguous, one per id position) and its optimiser state (unused tensors may be
// empty), shaped as sparse_row_update_ takes them.
struct SparseRowTable {
  at::Tensor param, grads, state1, state2, velocity, step_count;
};

// The training loop's output-layer update (CPU only; csrc/train_loop.cpp): the rows of
// `rows` (n x d) at the ids cat(lead_ids, ids) and the rows of `bias` (n x 1) at the ids
// `ids` alone, with one sort of the ids and one pass over their runs. rows.grads has
// len(lead_ids) + len(ids) rows in that order, bias.grads len(ids) entries (a bias row
// gets only the gradients of its positions in `ids`, and a row that only lead_ids
// touches leaves its bias untouched). The same result, to the bit, as
// sparse_row_update_cpu_(rows, cat(lead_ids, ids)) then sparse_row_update_cpu_(bias, ids):
// each row's gradients are summed in original-position order either way. lead_ids may be
// undefined (none). Arguments are trusted (the loop checked its tensors once).
void sparse_row_update_with_bias_cpu_(SparseRowTable& rows, SparseRowTable& bias, const at::Tensor& lead_ids, const at::Tensor& ids, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2);

}  // namespace gru4rec
