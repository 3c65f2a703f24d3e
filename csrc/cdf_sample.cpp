#include "cdf_sample.h"
#include "common/checks.h"
#include "cpu/cdf_sample_cpu.h"
#ifdef WITH_CUDA
#include "cuda/cdf_sample_cuda.h"
#endif

namespace gru4rec {

namespace {
void check_cdf(const at::Tensor& cdf, const char* op) {
  check_float(cdf, op, "cdf");
  check_dim(cdf, 1, op, "cdf");
  TORCH_CHECK(cdf.numel() > 0, op, ": 'cdf' is empty; it needs one entry per item");
}
}  // namespace

at::Tensor cdf_sample(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  check_cdf(cdf, "cdf_sample");
  TORCH_CHECK(k >= 0, "cdf_sample: k (number of draws) must be >= 0, got ", k);
  TORCH_CHECK(offset >= 0, "cdf_sample: offset must be >= 0, got ", offset);
  const at::Tensor c = cdf.contiguous();
  if (runs_cuda_kernels(c)) {
#ifdef WITH_CUDA
    return cdf_sample_cuda(c, k, seed, offset);
#else
    TORCH_CHECK(false, "cdf_sample: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return cdf_sample_cpu(c, k, seed, offset);
}

at::Tensor cdf_search(const at::Tensor& cdf, const at::Tensor& uniforms) {
  check_cdf(cdf, "cdf_search");
  check_float(uniforms, "cdf_search", "uniforms");
  check_same_dtype(cdf, uniforms, "cdf_search", "cdf", "uniforms");
  check_same_device(cdf, uniforms, "cdf_search", "cdf", "uniforms");
  const at::Tensor c = cdf.contiguous();
  const at::Tensor u = uniforms.contiguous();
  if (runs_cuda_kernels(c)) {
#ifdef WITH_CUDA
    return cdf_search_cuda(c, u);
#else
    TORCH_CHECK(false, "cdf_search: gru4rec_fast was built without CUDA; rebuild with CUDA (see README)");
#endif
  }
  return cdf_search_cpu(c, u);
}

}  // namespace gru4rec
