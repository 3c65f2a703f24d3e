// Inverse-CDF sampling: ids = searchsorted(cdf, u, side='left') for uniform u.
// cdf_sample draws u itself from a counter-based generator (seed, offset), so CPU
// and CUDA give the same ids; cdf_search takes the uniforms.
#pragma once
#include <ATen/ATen.h>
#include <tuple>
#include <vector>

namespace gru4rec {

at::Tensor cdf_sample(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset);
at::Tensor cdf_search(const at::Tensor& cdf, const at::Tensor& uniforms);

}  // namespace gru4rec
