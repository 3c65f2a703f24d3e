#include "sparse_row_update.h"
#include "common/checks.h"
#include "common/enums.h"
#include "cpu/sparse_row_update_cpu.h"
#ifdef WITH_CUDA
#include "cuda/sparse_row_update_cuda.h"
#endif

namespace gru4rec {

namespace {

constexpr const char* kOp = "sparse_row_update_";

const char* optimizer_name(int64_t optimizer) {
  switch (optimizer) {
    case OPT_SGD: return "sgd";
    case OPT_ADAGRAD: return "adagrad";
    case OPT_RMSPROP: return "rmsprop";
    case OPT_ADAM: return "adam";
    case OPT_ADADELTA: return "adadelta";
    default: TORCH_CHECK(false, kOp, ": unknown optimizer code ", optimizer);
  }
}

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

void sparse_row_update_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic) {
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
  TORCH_CHECK(optimizer >= OPT_SGD && optimizer <= OPT_ADADELTA, kOp, ": unknown optimizer code ",
              optimizer, " (see gru4rec_fast/ops/enums.py)");
  TORCH_CHECK(momentum >= 0.0, kOp, ": momentum must be >= 0, got ", momentum);
  const std::string why = std::string("optimizer '") + optimizer_name(optimizer) + "'";
  const bool needs_state1 = optimizer != OPT_SGD;
  const bool needs_state2 = optimizer == OPT_ADAM || optimizer == OPT_ADADELTA;
  if (needs_state1) check_state(state1, param, param.sizes(), "state1", why.c_str());
  if (needs_state2) check_state(state2, param, param.sizes(), "state2", why.c_str());
  if (optimizer == OPT_ADAM) check_state(step_count, param, {n}, "step_count", why.c_str());
  if (momentum > 0.0) check_state(velocity, param, param.sizes(), "velocity", "momentum > 0");
  check_ids_in_range_cpu(ids, n, kOp, "ids");
  if (M == 0 || d == 0) return;  // nothing to update
  at::Tensor ids_c = ids.contiguous();
  at::Tensor grads_c = grads.contiguous();
  if (runs_cuda_kernels(param)) {
#ifdef WITH_CUDA
    sparse_row_update_cuda_(param, ids_c, grads_c, state1, state2, velocity, step_count, optimizer, lr, momentum, lmbd, eps, p1, p2, deterministic);
#else
    TORCH_CHECK(false, "sparse_row_update_: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  } else {
    sparse_row_update_cpu_(param, ids_c, grads_c, state1, state2, velocity, step_count, optimizer, lr, momentum, lmbd, eps, p1, p2, deterministic);
  }
}

}  // namespace gru4rec
