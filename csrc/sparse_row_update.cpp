// The checks of sparse_row_update_, shared by the CPU and CUDA implementations (which
// register with the dispatcher from their own files).
#include "sparse_row_update.h"
#include "common/checks.h"
#include "common/code_tables.h"
#include "common/enums.h"

namespace gru4rec {

namespace {

constexpr const char* kOp = "sparse_row_update_";

// A state tensor the chosen optimiser reads must be allocated with the parameter's
// shape (or `shape`), dtype and device, and be contiguous (the kernels index it
// as raw rows). `why` tells the user which setting needs it.
void check_state(const at::Tensor& state, const at::Tensor& param, at::IntArrayRef shape,
                 const char* name, const char* why) {
  TORCH_CHECK(state.defined(), kOp, ": '", name, "' is undefined but ", why, " needs it");
  TORCH_CHECK(state.numel() > 0 || c10::multiply_integers(shape) == 0, kOp, ": '", name,
              "' is empty but ", why, " needs it (allocate it with shape ", shape,
              ", e.g. through SparseRowState)");
  TORCH_CHECK(state.sizes() == shape, kOp, ": '", name, "' has shape ", state.sizes(),
              " but must have shape ", shape, " (", why, ")");
  check_same_dtype(state, param, kOp, name, "param");
  check_same_device(state, param, kOp, name, "param");
  TORCH_CHECK(state.is_contiguous(), kOp, ": '", name, "' must be contiguous");
}

}  // namespace

void check_sparse_row_update_args(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic) {
  check_float(param, kOp, "param");
  check_dim(param, 2, kOp, "param");
  TORCH_CHECK(param.is_contiguous(), kOp, ": 'param' must be contiguous (it is updated in place)");
  check_index(ids, kOp, "ids");
  check_dim(ids, 1, kOp, "ids");
  check_float(grads, kOp, "grads");
  check_dim(grads, 2, kOp, "grads");
  check_same_dtype(grads, param, kOp, "grads", "param");
  check_same_device(ids, param, kOp, "ids", "param");
  check_same_device(grads, param, kOp, "grads", "param");
  const int64_t n = param.size(0), d = param.size(1), M = ids.size(0);
  TORCH_CHECK(grads.size(0) == M && grads.size(1) == d, kOp, ": 'grads' has shape ", grads.sizes(),
              " but must be (len(ids), d) = (", M, ", ", d, ")");
  TORCH_CHECK(optimizer >= 0 && optimizer < kNumOptimizers, kOp, ": unknown optimizer code ",
              optimizer, " (valid: ", valid_codes(kOptimizers), ")");
  TORCH_CHECK(momentum >= 0.0, kOp, ": momentum must be >= 0, got ", momentum);
  const OptimizerInfo& opt = kOptimizers[optimizer];
  const std::string why = std::string("optimizer '") + opt.name + "'";
  if (opt.uses_s1) check_state(state1, param, param.sizes(), "state1", why.c_str());
  if (opt.uses_s2) check_state(state2, param, param.sizes(), "state2", why.c_str());
  if (opt.uses_steps) check_state(step_count, param, {n}, "step_count", why.c_str());
  if (momentum > 0.0) check_state(velocity, param, param.sizes(), "velocity", "momentum > 0");
  check_ids_in_range_cpu(ids, n, kOp, "ids");
}

void run_sparse_row_update_(SparseRowUpdateKernel kernel, at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic) {
  check_sparse_row_update_args(param, ids, grads, state1, state2, velocity, step_count, optimizer, lr, momentum, lmbd, eps, p1, p2, deterministic);
  if (ids.size(0) == 0 || param.size(1) == 0) return;  // nothing to update
  at::Tensor ids_c = ids.contiguous();
  at::Tensor grads_c = grads.contiguous();
  kernel(param, ids_c, grads_c, state1, state2, velocity, step_count, optimizer, lr, momentum, lmbd, eps, p1, p2, deterministic);
}

}  // namespace gru4rec
