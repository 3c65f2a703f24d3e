// Sums the gradients of equal ids, then applies one optimiser update per unique row,
// in place, touching only those rows of param and its state (unused state tensors
// may be empty).
// The operators (schemas in csrc/op_schemas.h) run run_<op> bound to the CPU or CUDA
// kernel; both check their arguments with check_<op>_args first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

#include "cpu/sparse_row_update_cpu.h"

namespace gru4rec {

using SparseRowUpdateKernel = decltype(&sparse_row_update_cpu_);

void check_sparse_row_update_args(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic);
void run_sparse_row_update_(SparseRowUpdateKernel kernel, at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic);

}  // namespace gru4rec
