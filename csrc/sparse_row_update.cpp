#include "sparse_row_update.h"
#include "common/checks.h"
#include "cpu/sparse_row_update_cpu.h"
#ifdef WITH_CUDA
#include "cuda/sparse_row_update_cuda.h"
#endif

namespace gru4rec {

void sparse_row_update_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (param.is_cuda()) {
#ifdef WITH_CUDA
    sparse_row_update_cuda_(param, ids, grads, state1, state2, velocity, step_count, optimizer, lr, momentum, lmbd, eps, p1, p2, deterministic);
#else
    TORCH_CHECK(false, "sparse_row_update_: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  } else {
    sparse_row_update_cpu_(param, ids, grads, state1, state2, velocity, step_count, optimizer, lr, momentum, lmbd, eps, p1, p2, deterministic);
  }
}

}  // namespace gru4rec
