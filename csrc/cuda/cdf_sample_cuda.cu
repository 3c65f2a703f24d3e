#include "cdf_sample_cuda.h"

#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAStream.h>  // not ATen/cuda/CUDAContext.h: it drags in cuSPARSE/cuBLAS headers
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>


#include "cuda/kernels/cdf_sample_kernels.cuh"

namespace gru4rec {

using namespace cdf_sample_kernels;

at::Tensor cdf_sample_cuda(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  const c10::cuda::CUDAGuard guard(cdf.device());
  at::Tensor ids = at::empty({k}, cdf.options().dtype(at::kLong));
  if (k == 0) return ids;
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(cdf.scalar_type(), "cdf_sample_cuda", [&] {
    cdf_sample_kernel<scalar_t><<<n_blocks(k), kThreads, 0, stream>>>(
        cdf.data_ptr<scalar_t>(), cdf.numel(), k, static_cast<uint64_t>(seed),
        static_cast<uint64_t>(offset), ids.data_ptr<int64_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return ids;
}

at::Tensor cdf_search_cuda(const at::Tensor& cdf, const at::Tensor& uniforms) {
  const c10::cuda::CUDAGuard guard(cdf.device());
  at::Tensor ids = at::empty(uniforms.sizes(), uniforms.options().dtype(at::kLong));
  const int64_t k = uniforms.numel();
  if (k == 0) return ids;
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(cdf.scalar_type(), "cdf_search_cuda", [&] {
    cdf_search_kernel<scalar_t><<<n_blocks(k), kThreads, 0, stream>>>(
        cdf.data_ptr<scalar_t>(), cdf.numel(), uniforms.data_ptr<scalar_t>(), k,
        ids.data_ptr<int64_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return ids;
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/cdf_sample.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "cdf_sample.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "cdf_sample", run_cdf_sample, cdf_sample_cuda);
  G4R_IMPL(m, "cdf_search", run_cdf_search, cdf_search_cuda);
}
