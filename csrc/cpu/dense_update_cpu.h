// The CPU optimiser step of a dense parameter (every element has a gradient): the
// training loop's GRU weights (csrc/train_loop.cpp, phase g4r::update_dense).
#pragma once
#include <ATen/ATen.h>

#include "cpu/sparse_row_update_cpu.h"  // SparseRowTable

namespace gru4rec {

// Updates every row of t.param (rows x d, contiguous; t.grads the same shape, contiguous)
// and its state in place: the same result, to the bit, as sparse_row_update_cpu_ over
// ids 0..rows-1 (each element's arithmetic is the same, in the same order; Adam's step
// counts stay per row), but in one pass per element instead of the row kernel's four,
// and without its sort of the ids. Arguments are trusted (the loop checked its tensors).
void dense_update_cpu_(SparseRowTable& t, int64_t optimizer, double lr, double momentum,
                       double lmbd, double eps, double p1, double p2);

}  // namespace gru4rec
