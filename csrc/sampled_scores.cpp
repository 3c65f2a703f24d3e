// The checks of sampled_scores_{forward,backward}, shared by the CPU and CUDA
// implementations (which register with the dispatcher from their own files).
#include "sampled_scores.h"
#include "common/checks.h"

namespace gru4rec {

namespace {

// Checks shared by forward and backward: H (B x d), W (n x d), Y (N ids in [0, n)),
// same dtype and device. The id range is checked on the host for CPU tensors only;
// on CUDA the gather (index_select) asserts on the device, so no host sync here.
void check_h_w_y(const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y, const char* op) {
  check_hidden_table_ids(H, W, Y, op, "Y");
  check_ids_in_range_cpu(Y, W.size(0), op, "Y");
}

}  // namespace

void check_sampled_scores_forward_args(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  const char* op = "sampled_scores_forward";
  check_h_w_y(H, W, Y, op);
  check_float(b, op, "b");
  check_dim(b, 1, op, "b");
  check_same_dtype(H, b, op, "H", "b");
  check_same_device(H, b, op, "H", "b");
  TORCH_CHECK(b.size(0) == W.size(0), op, ": b has ", b.size(0), " entries but W has ", W.size(0),
              " rows; b must hold one bias per row of W");
}

void check_sampled_scores_backward_args(const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  const char* op = "sampled_scores_backward";
  check_h_w_y(H, W, Y, op);
  check_float(dS, op, "dS");
  check_dim(dS, 2, op, "dS");
  check_same_dtype(H, dS, op, "H", "dS");
  check_same_device(H, dS, op, "H", "dS");
  TORCH_CHECK(dS.size(0) == H.size(0) && dS.size(1) == Y.size(0), op, ": dS is ", dS.sizes(),
              " but must be (B, N) = (", H.size(0), ", ", Y.size(0), ") for H ", H.sizes(),
              " and Y of ", Y.size(0), " ids");
}


at::Tensor run_sampled_scores_forward(SampledScoresForwardKernel kernel, const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& Y) {
  check_sampled_scores_forward_args(H, W, b, Y);
  return kernel(H, W, b, Y);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> run_sampled_scores_backward(SampledScoresBackwardKernel kernel, const at::Tensor& dS, const at::Tensor& H, const at::Tensor& W, const at::Tensor& Y) {
  check_sampled_scores_backward_args(dS, H, W, Y);
  return kernel(dS.contiguous(), H, W, Y);
}

}  // namespace gru4rec
