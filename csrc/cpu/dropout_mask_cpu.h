// The training loop's dropout masks on the CPU (csrc/train_loop.cpp).
#pragma once
#include <ATen/ATen.h>

namespace gru4rec {

// Fills `out` (a fresh contiguous float32/float64 CPU tensor) with the inverted-dropout
// keep mask (u < keep) / keep, where u are exactly the draws at::rand(out.sizes(), gen)
// would make, and leaves `gen` (a CPU generator) exactly where that call would: the
// same masks, to the bit, and the same random stream afterwards, without at::rand's
// out-of-line generator call per element and its separate transform pass.
void dropout_keep_mask_cpu_(at::Tensor& out, const at::Generator& gen, double keep);

}  // namespace gru4rec
