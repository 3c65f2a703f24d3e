// The GEMMs of sampled_scores on the gathered rows Wy = W[Y] (N x d) and by = b[Y] (N),
// shared by the CPU and CUDA implementations (csrc/cpu/sampled_scores_cpu.cpp,
// csrc/cuda/sampled_scores_cuda.cu, csrc/emu/sampled_scores_emu.h) and the training loop
// (csrc/train_loop.cpp), which gathers once for its forward and backward: one code path,
// so benches/ops.py times what training runs. ATen only (no torch headers): the .cu
// includes it.
#pragma once
#include <ATen/ATen.h>

#include <tuple>

namespace gru4rec {

// S = b[Y] + H . W[Y]^T (B x N), computed as (b[Y] + W[Y] . H^T)^T: BLAS splits the N
// (~2k) rows of W[Y] well over threads, while H . W[Y]^T (M = B = 32 rows) ran 3.7x
// slower on 2 threads. The transposed copy back to B x N is cheap beside the product.
// sampled_scores_transposed_from_rows is the N x B product before that copy (the CPU
// kernel copies it with its own tiled transpose, csrc/cpu/sampled_scores_cpu.cpp).
inline at::Tensor sampled_scores_transposed_from_rows(const at::Tensor& H, const at::Tensor& Wy,
                                                      const at::Tensor& by) {
  const int64_t B = H.size(0), N = Wy.size(0);
  return at::addmm(by.unsqueeze(1).expand({N, B}), Wy, H.t());
}

inline at::Tensor sampled_scores_from_rows(const at::Tensor& H, const at::Tensor& Wy,
                                           const at::Tensor& by) {
  return sampled_scores_transposed_from_rows(H, Wy, by).t().contiguous();
}

// The backward from the gathered rows: writes dW_rows = dS^T . H into dW_rows (N x d,
// possibly a view into a larger buffer, as the loop's one buffer of all Wy row
// gradients) and returns (dH = dS . W[Y], db_rows = column sums of dS). Duplicate ids are
// not summed here: sparse_row_update_ sums them when it applies the update.
inline std::tuple<at::Tensor, at::Tensor> sampled_scores_grads_from_rows(const at::Tensor& dS,
                                                                         const at::Tensor& H,
                                                                         const at::Tensor& Wy,
                                                                         at::Tensor& dW_rows) {
  at::mm_out(dW_rows, dS.t(), H);
  return std::make_tuple(at::mm(dS, Wy), dS.sum(0));
}

}  // namespace gru4rec
