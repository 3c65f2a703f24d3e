// Sampled output scores on CUDA: one kernel gathers the N used rows of W and entries of
// b into compact buffers (ids guarded on the device: no host sync), then the cuBLAS
// products of csrc/common/sampled_scores_products.h. Nothing of size n_items x d is allocated.
#include "sampled_scores_cuda.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/macros/Macros.h>

#include "common/sampled_scores_products.h"
#include "cuda/kernels/sampled_scores_kernels.cuh"

namespace gru4rec {

using namespace sampled_scores_kernels;

std::tuple<at::Tensor, at::Tensor> sampled_scores_gather_cuda(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const c10::cuda::CUDAGuard guard(W.device());
  const int64_t N = Y.size(0), d = W.size(1), n = W.size(0);
  at::Tensor Wc = W.contiguous();
  at::Tensor Yc = Y.contiguous();
  at::Tensor bc = b.defined() ? b.contiguous() : b;
  at::Tensor Wy = at::empty({N, d}, W.options());
  at::Tensor by = b.defined() ? at::empty({N}, W.options()) : at::Tensor();
  const int64_t work = std::max<int64_t>(N * d, N);
  if (work == 0) return std::make_tuple(Wy, by);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "sampled_scores_gather", [&] {
    gather_rows_kernel<scalar_t><<<gather_blocks(work), kGatherThreads, 0, stream>>>(
        Wc.data_ptr<scalar_t>(), bc.defined() ? bc.data_ptr<scalar_t>() : nullptr,
        Yc.data_ptr<int64_t>(), Wy.data_ptr<scalar_t>(),
        by.defined() ? by.data_ptr<scalar_t>() : nullptr, N, d, n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return std::make_tuple(Wy, by);
}

at::Tensor sampled_scores_forward_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const c10::cuda::CUDAGuard guard(H.device());
  auto [Wy, by] = sampled_scores_gather_cuda(W, b, Y);
  return sampled_scores_from_rows(H, Wy, by);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cuda(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  const c10::cuda::CUDAGuard guard(dS.device());
  at::Tensor Wy = std::get<0>(sampled_scores_gather_cuda(W, at::Tensor(), Y));
  at::Tensor dW_rows = at::empty({Y.size(0), W.size(1)}, W.options());
  auto [dH, db_rows] = sampled_scores_grads_from_rows(dS, H, Wy, dW_rows);
  return std::make_tuple(dH, dW_rows, db_rows);
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/sampled_scores.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "sampled_scores.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "sampled_scores_forward", run_sampled_scores_forward, sampled_scores_forward_cuda);
  G4R_IMPL(m, "sampled_scores_backward", run_sampled_scores_backward, sampled_scores_backward_cuda);
}
