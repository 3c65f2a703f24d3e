// cdf_sample_cuda / cdf_search_cuda on the CPU emulation: the launches of
// csrc/cuda/cdf_sample_cuda.cu.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include "cuda/kernels/cdf_sample_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

at::Tensor cdf_sample_cuda(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  using namespace cdf_sample_kernels;
  at::Tensor ids = emu::empty({k}, cdf.options().dtype(at::kLong));
  if (k == 0) return ids;
  AT_DISPATCH_FLOATING_TYPES(cdf.scalar_type(), "cdf_sample_cuda", [&] {
    g4r_emu::launch(cdf_sample_kernel<scalar_t>, dim3(n_blocks(k)), dim3(kThreads), 0,
                    cdf.data_ptr<scalar_t>(), cdf.numel(), k, static_cast<uint64_t>(seed),
                    static_cast<uint64_t>(offset), ids.data_ptr<int64_t>());
  });
  return ids;
}

at::Tensor cdf_search_cuda(const at::Tensor& cdf, const at::Tensor& uniforms) {
  using namespace cdf_sample_kernels;
  at::Tensor ids = emu::empty(uniforms.sizes(), uniforms.options().dtype(at::kLong));
  const int64_t k = uniforms.numel();
  if (k == 0) return ids;
  AT_DISPATCH_FLOATING_TYPES(cdf.scalar_type(), "cdf_search_cuda", [&] {
    g4r_emu::launch(cdf_search_kernel<scalar_t>, dim3(n_blocks(k)), dim3(kThreads), 0,
                    cdf.data_ptr<scalar_t>(), cdf.numel(), uniforms.data_ptr<scalar_t>(), k,
                    ids.data_ptr<int64_t>());
  });
  return ids;
}

}  // namespace gru4rec
