#include "cdf_sample.h"
#include "common/checks.h"
#include "cpu/cdf_sample_cpu.h"
#ifdef WITH_CUDA
#include "cuda/cdf_sample_cuda.h"
#endif

namespace gru4rec {

at::Tensor cdf_sample(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (cdf.is_cuda()) {
#ifdef WITH_CUDA
    return cdf_sample_cuda(cdf, k, seed, offset);
#else
    TORCH_CHECK(false, "cdf_sample: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return cdf_sample_cpu(cdf, k, seed, offset);
}

at::Tensor cdf_search(const at::Tensor& cdf, const at::Tensor& uniforms) {
  // TODO(op owner): argument checks (dtype, device, shape, id range).
  if (cdf.is_cuda()) {
#ifdef WITH_CUDA
    return cdf_search_cuda(cdf, uniforms);
#else
    TORCH_CHECK(false, "cdf_search: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return cdf_search_cpu(cdf, uniforms);
}

}  // namespace gru4rec
