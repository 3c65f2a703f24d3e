// Inverse-CDF sampling: ids = searchsorted(cdf, u, side='left') for uniform u.
// cdf_sample draws u itself from a counter-based generator (seed, offset), so CPU
// and CUDA give the same ids; cdf_search takes the uniforms.
// The operators (schemas in csrc/op_schemas.h) run run_<op> bound to the CPU or CUDA
// kernel; both check their arguments with check_<op>_args first.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

#include "cpu/cdf_sample_cpu.h"

namespace gru4rec {

using CdfSampleKernel = decltype(&cdf_sample_cpu);
using CdfSearchKernel = decltype(&cdf_search_cpu);

void check_cdf_sample_args(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset);
void check_cdf_search_args(const at::Tensor& cdf, const at::Tensor& uniforms);
at::Tensor run_cdf_sample(CdfSampleKernel kernel, const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset);
at::Tensor run_cdf_search(CdfSearchKernel kernel, const at::Tensor& cdf, const at::Tensor& uniforms);

}  // namespace gru4rec
