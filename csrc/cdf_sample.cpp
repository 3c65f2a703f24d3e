// The checks of cdf_sample and cdf_search, shared by the CPU and CUDA implementations
// (which register with the dispatcher from their own files).
#include "cdf_sample.h"
#include "common/checks.h"

namespace gru4rec {

namespace {
void check_cdf(const at::Tensor& cdf, const char* op) {
  check_float(cdf, op, "cdf");
  check_dim(cdf, 1, op, "cdf");
  TORCH_CHECK(cdf.numel() > 0, op, ": 'cdf' is empty; it needs one entry per item");
}
}  // namespace

void check_cdf_sample_args(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  check_cdf(cdf, "cdf_sample");
  TORCH_CHECK(k >= 0, "cdf_sample: k (number of draws) must be >= 0, got ", k);
  TORCH_CHECK(offset >= 0, "cdf_sample: offset must be >= 0, got ", offset);
}

void check_cdf_search_args(const at::Tensor& cdf, const at::Tensor& uniforms) {
  check_cdf(cdf, "cdf_search");
  check_float(uniforms, "cdf_search", "uniforms");
  check_same_dtype(cdf, uniforms, "cdf_search", "cdf", "uniforms");
  check_same_device(cdf, uniforms, "cdf_search", "cdf", "uniforms");
}

at::Tensor run_cdf_sample(CdfSampleKernel kernel, const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  check_cdf_sample_args(cdf, k, seed, offset);
  return kernel(cdf.contiguous(), k, seed, offset);
}

at::Tensor run_cdf_search(CdfSearchKernel kernel, const at::Tensor& cdf, const at::Tensor& uniforms) {
  check_cdf_search_args(cdf, uniforms);
  return kernel(cdf.contiguous(), uniforms.contiguous());
}

}  // namespace gru4rec
