#include "sparse_row_update_cpu.h"

namespace gru4rec {

void sparse_row_update_cpu_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool deterministic) {
  TORCH_CHECK(false, "sparse_row_update_: CPU kernel not implemented yet");
}

}  // namespace gru4rec
