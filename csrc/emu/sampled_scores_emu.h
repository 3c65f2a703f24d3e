// sampled_scores_{forward,backward}_cuda on the CPU emulation: the gather kernel of
// csrc/cuda/sampled_scores_cuda.cu, then the same products
// (csrc/common/sampled_scores_products.h; cuBLAS there, CPU here).
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <algorithm>

#include "common/sampled_scores_products.h"
#include "cuda/kernels/sampled_scores_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> sampled_scores_gather_cuda(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  using namespace sampled_scores_kernels;
  const int64_t N = Y.size(0), d = W.size(1), n = W.size(0);
  at::Tensor Wc = W.contiguous();
  at::Tensor Yc = Y.contiguous();
  at::Tensor bc = b.defined() ? b.contiguous() : b;
  at::Tensor Wy = emu::empty({N, d}, W.options());
  at::Tensor by = b.defined() ? emu::empty({N}, W.options()) : at::Tensor();
  const int64_t work = std::max<int64_t>(N * d, N);
  if (work == 0) return std::make_tuple(Wy, by);
  AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "sampled_scores_gather", [&] {
    g4r_emu::launch(gather_rows_kernel<scalar_t>, dim3(gather_blocks(work)), dim3(kGatherThreads),
                    0, Wc.data_ptr<scalar_t>(), bc.defined() ? bc.data_ptr<scalar_t>() : nullptr,
                    Yc.data_ptr<int64_t>(), Wy.data_ptr<scalar_t>(),
                    by.defined() ? by.data_ptr<scalar_t>() : nullptr, N, d, n);
  });
  return std::make_tuple(Wy, by);
}

at::Tensor sampled_scores_forward_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  auto [Wy, by] = sampled_scores_gather_cuda(W, b, Y);
  return sampled_scores_from_rows(H, Wy, by);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cuda(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  at::Tensor Wy = std::get<0>(sampled_scores_gather_cuda(W, at::Tensor(), Y));
  at::Tensor dW_rows = emu::empty({Y.size(0), W.size(1)}, W.options());
  auto [dH, db_rows] = sampled_scores_grads_from_rows(dS, H, Wy, dW_rows);
  return std::make_tuple(dH, dW_rows, db_rows);
}

}  // namespace gru4rec
