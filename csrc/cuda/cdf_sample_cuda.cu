#include "cdf_sample_cuda.h"

namespace gru4rec {

at::Tensor cdf_sample_cuda(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  TORCH_CHECK(false, "cdf_sample: CUDA kernel not implemented yet");
}

at::Tensor cdf_search_cuda(const at::Tensor& cdf, const at::Tensor& uniforms) {
  TORCH_CHECK(false, "cdf_search: CUDA kernel not implemented yet");
}

}  // namespace gru4rec
