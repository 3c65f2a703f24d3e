// sampled_scores_{forward,backward}_cuda on the CPU emulation: the gather kernel of
// csrc/cuda/sampled_scores_cuda.cu, then the same ATen GEMMs (cuBLAS there, CPU here).
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>

#include "cuda/kernels/sampled_scores_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

namespace emu {
inline void gather_rows(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y,
                        at::Tensor& Wy, at::Tensor& by) {
  using namespace sampled_scores_kernels;
  const int64_t N = Y.size(0), d = W.size(1), n = W.size(0);
  at::Tensor Wc = W.contiguous();
  at::Tensor Yc = Y.contiguous();
  at::Tensor bc = b.defined() ? b.contiguous() : b;
  Wy = emu::empty({N, d}, W.options());
  by = b.defined() ? emu::empty({N}, W.options()) : at::Tensor();
  const int64_t work = std::max<int64_t>(N * d, N);
  if (work == 0) return;
  AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "sampled_scores_gather", [&] {
    g4r_emu::launch(gather_rows_kernel<scalar_t>, dim3(gather_blocks(work)), dim3(kGatherThreads),
                    0, Wc.data_ptr<scalar_t>(), bc.defined() ? bc.data_ptr<scalar_t>() : nullptr,
                    Yc.data_ptr<int64_t>(), Wy.data_ptr<scalar_t>(),
                    by.defined() ? by.data_ptr<scalar_t>() : nullptr, N, d, n);
  });
}
}  // namespace emu

at::Tensor sampled_scores_forward_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const int64_t B = H.size(0), N = Y.size(0);
  at::Tensor Wy, by;
  emu::gather_rows(W, b, Y, Wy, by);
  return at::addmm(by.unsqueeze(0).expand({B, N}), H, Wy.t());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cuda(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  at::Tensor Wy, unused;
  emu::gather_rows(W, at::Tensor(), Y, Wy, unused);
  at::Tensor dH = at::mm(dS, Wy);
  at::Tensor dW_rows = at::mm(dS.t(), H);
  at::Tensor db_rows = dS.sum(0);
  return std::make_tuple(dH, dW_rows, db_rows);
}

}  // namespace gru4rec
