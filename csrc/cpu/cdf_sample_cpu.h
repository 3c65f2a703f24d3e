// CPU kernels of cdf_sample; same signatures as csrc/cdf_sample.h with a _cpu suffix.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

at::Tensor cdf_sample_cpu(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset);
at::Tensor cdf_search_cpu(const at::Tensor& cdf, const at::Tensor& uniforms);

}  // namespace gru4rec
