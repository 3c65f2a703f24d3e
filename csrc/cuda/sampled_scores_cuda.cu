// Sampled output scores on CUDA: one kernel gathers the N used rows of W and entries of
// b into compact buffers (ids guarded on the device: no host sync), then cuBLAS via
// at::addmm / at::mm. Nothing of size n_items x d is allocated.
#include "sampled_scores_cuda.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/macros/Macros.h>

namespace gru4rec {

namespace {

// Wy[j, :] = W[Y[j], :] and (when by != nullptr) by[j] = b[Y[j]]. One thread per
// element, grid-stride; row-major reads of W rows coalesce across the row.
template <typename scalar_t>
__global__ void gather_rows_kernel(const scalar_t* __restrict__ W, const scalar_t* __restrict__ b,
                                   const int64_t* __restrict__ Y, scalar_t* __restrict__ Wy,
                                   scalar_t* __restrict__ by, int64_t N, int64_t d, int64_t n) {
  const int64_t total = N * d;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = i / d, c = i - j * d;
    const int64_t id = Y[j];
    CUDA_KERNEL_ASSERT(id >= 0 && id < n && "sampled_scores: id in Y out of range [0, n_items)");
    Wy[i] = W[id * d + c];
    if (by != nullptr && c == 0) by[j] = b[id];
  }
  // d == 0: the bias still has to be gathered.
  if (d == 0 && by != nullptr) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < N;
         j += (int64_t)gridDim.x * blockDim.x) {
      const int64_t id = Y[j];
      CUDA_KERNEL_ASSERT(id >= 0 && id < n && "sampled_scores: id in Y out of range [0, n_items)");
      by[j] = b[id];
    }
  }
}

// Gathers W[Y] (and b[Y] when b is defined) into fresh contiguous buffers.
void gather_rows(const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y, at::Tensor& Wy,
                 at::Tensor& by) {
  const int64_t N = Y.size(0), d = W.size(1), n = W.size(0);
  at::Tensor Wc = W.contiguous();
  at::Tensor Yc = Y.contiguous();
  at::Tensor bc = b.defined() ? b.contiguous() : b;
  Wy = at::empty({N, d}, W.options());
  by = b.defined() ? at::empty({N}, W.options()) : at::Tensor();
  const int64_t work = std::max<int64_t>(N * d, N);
  if (work == 0) return;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((work + threads - 1) / threads, 65535);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "sampled_scores_gather", [&] {
    gather_rows_kernel<scalar_t><<<blocks, threads, 0, stream>>>(
        Wc.data_ptr<scalar_t>(), bc.defined() ? bc.data_ptr<scalar_t>() : nullptr,
        Yc.data_ptr<int64_t>(), Wy.data_ptr<scalar_t>(),
        by.defined() ? by.data_ptr<scalar_t>() : nullptr, N, d, n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

}  // namespace

at::Tensor sampled_scores_forward_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const c10::cuda::CUDAGuard guard(H.device());
  const int64_t B = H.size(0), N = Y.size(0);
  at::Tensor Wy, by;
  gather_rows(W, b, Y, Wy, by);
  return at::addmm(by.unsqueeze(0).expand({B, N}), H, Wy.t());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cuda(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  const c10::cuda::CUDAGuard guard(dS.device());
  at::Tensor Wy, unused;
  gather_rows(W, at::Tensor(), Y, Wy, unused);
  at::Tensor dH = at::mm(dS, Wy);
  at::Tensor dW_rows = at::mm(dS.t(), H);
  at::Tensor db_rows = dS.sum(0);
  return std::make_tuple(dH, dW_rows, db_rows);
}

}  // namespace gru4rec
