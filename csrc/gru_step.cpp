// The checks of gru_step_{forward,backward}, shared by the CPU and CUDA implementations
// (which register with the dispatcher from their own files).
//
// saved (what forward returns after `out`, and backward expects back, in order):
//   h0   B x d   h with reset rows zeroed (h itself when no reset is given)
//   rz   B x 2d  the gates after the sigmoid, [r | z]
//   hr   B x d   h0 * r, the left operand of the candidate GEMM (needed for dWh)
//   c    B x d   the candidate after the activation
//   dact B x d   act'(candidate pre-activation), so backward needs no exp/tanh
#include "gru_step.h"
#include "common/checks.h"
#include "common/code_tables.h"
#include "common/enums.h"

#include <initializer_list>

namespace gru4rec {

namespace {

constexpr const char* kFwd = "gru_step_forward";
constexpr const char* kBwd = "gru_step_backward";

bool given(const at::Tensor& t) { return t.defined() && t.numel() > 0; }

// Weights, reset, keep_mask and act: the checks forward and backward share. Returns d.
int64_t check_common(const char* op, const at::Tensor& ref, const char* ref_name, int64_t B,
                     const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset,
                     const at::Tensor& keep_mask, int64_t act) {
  TORCH_CHECK(ref.is_cpu() || ref.is_cuda(), op, ": '", ref_name,
              "' must be a CPU or CUDA tensor, got device ", ref.device());
  check_float(Wrz, op, "Wrz");
  check_float(Wh, op, "Wh");
  check_same_dtype(Wrz, ref, op, "Wrz", ref_name);
  check_same_dtype(Wh, ref, op, "Wh", ref_name);
  check_same_device(Wrz, ref, op, "Wrz", ref_name);
  check_same_device(Wh, ref, op, "Wh", ref_name);
  check_dim(Wh, 2, op, "Wh");
  check_dim(Wrz, 2, op, "Wrz");
  const int64_t d = Wh.size(0);
  TORCH_CHECK(d > 0 && Wh.size(1) == d, op, ": 'Wh' must be a non-empty square d x d matrix, got ",
              Wh.sizes());
  TORCH_CHECK(Wrz.size(0) == d && Wrz.size(1) == 2 * d, op, ": 'Wrz' must be d x 2d = ", d, " x ",
              2 * d, " (blocks [r | z]) to match 'Wh' (", Wh.sizes(), "), got ", Wrz.sizes());
  if (given(reset)) {
    check_same_device(reset, ref, op, "reset", ref_name);
    TORCH_CHECK(reset.scalar_type() == at::kBool || reset.scalar_type() == at::kByte, op,
                ": 'reset' must be bool or uint8 (one flag per row), got ", reset.scalar_type());
    TORCH_CHECK(reset.dim() == 1 && reset.size(0) == B, op, ": 'reset' must have shape (B,) = (",
                B, ",), got ", reset.sizes(), " (pass an empty tensor for no reset)");
  }
  if (given(keep_mask)) {
    check_same_device(keep_mask, ref, op, "keep_mask", ref_name);
    check_same_dtype(keep_mask, ref, op, "keep_mask", ref_name);
    TORCH_CHECK(keep_mask.dim() == 2 && keep_mask.size(0) == B && keep_mask.size(1) == d, op,
                ": 'keep_mask' must be B x d = ", B, " x ", d, ", got ", keep_mask.sizes(),
                " (pass an empty tensor for no dropout)");
  }
  TORCH_CHECK(act >= 0 && act < kNumHiddenActivations, op, ": activation code ", act,
              " is not a hidden-layer activation (valid: ",
              valid_codes(kActivations, kNumHiddenActivations),
              "; the row-wise ones are final activations only)");
  return d;
}

// Empty tensors mean "none"; given ones are made contiguous for the element-wise kernels.
at::Tensor optional_contiguous(const at::Tensor& t) {
  return given(t) ? t.contiguous() : at::Tensor();
}

// An operator's outputs must not alias its inputs (the schema declares none; compile
// and export rely on it): a kernel output that is an input (h0 is h when nothing is
// reset) is copied.
at::Tensor not_aliasing(const at::Tensor& out, std::initializer_list<at::Tensor> inputs) {
  for (const at::Tensor& in : inputs)
    if (in.defined() && out.defined() && out.is_alias_of(in)) return out.clone();
  return out;
}

}  // namespace

void check_gru_step_forward_args(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  check_float(vx, kFwd, "vx");
  check_float(h, kFwd, "h");
  check_dim(vx, 2, kFwd, "vx");
  check_dim(h, 2, kFwd, "h");
  check_same_dtype(h, vx, kFwd, "h", "vx");
  check_same_device(h, vx, kFwd, "h", "vx");
  const int64_t B = vx.size(0);
  const int64_t d = check_common(kFwd, vx, "vx", B, Wrz, Wh, reset, keep_mask, act);
  TORCH_CHECK(vx.size(1) == 3 * d, kFwd, ": 'vx' must be B x 3d (blocks [candidate | r | z]) with d = ",
              d, " from 'Wh' (", Wh.sizes(), "), got ", vx.sizes());
  TORCH_CHECK(h.size(0) == B && h.size(1) == d, kFwd, ": 'h' must be B x d = ", B, " x ", d,
              " to match 'vx' (", vx.sizes(), "), got ", h.sizes());
}

void check_gru_step_backward_args(const at::Tensor& dout, at::TensorList saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  check_float(dout, kBwd, "dout");
  check_dim(dout, 2, kBwd, "dout");
  const int64_t B = dout.size(0);
  const int64_t d = check_common(kBwd, dout, "dout", B, Wrz, Wh, reset, keep_mask, act);
  TORCH_CHECK(dout.size(1) == d, kBwd, ": 'dout' must be B x d with d = ", d, " from 'Wh', got ",
              dout.sizes());
  TORCH_CHECK(saved.size() == 5, kBwd, ": 'saved' must be the 5 tensors gru_step_forward returned "
              "after 'out' (h0, rz, hr, c, dact), got ", saved.size());
  static const char* names[5] = {"saved[0] (h0)", "saved[1] (rz)", "saved[2] (hr)", "saved[3] (c)",
                                 "saved[4] (dact)"};
  for (int i = 0; i < 5; ++i) {
    check_float(saved[i], kBwd, names[i]);
    check_same_dtype(saved[i], dout, kBwd, names[i], "dout");
    check_same_device(saved[i], dout, kBwd, names[i], "dout");
    const int64_t width = i == 1 ? 2 * d : d;
    TORCH_CHECK(saved[i].dim() == 2 && saved[i].size(0) == B && saved[i].size(1) == width, kBwd,
                ": '", names[i], "' must be ", B, " x ", width, ", got ", saved[i].sizes());
  }
}

GruStepForwardResult run_gru_step_forward(GruStepForwardKernel kernel, const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  check_gru_step_forward_args(vx, h, Wrz, Wh, reset, keep_mask, act, act_a, act_b);
  const std::vector<at::Tensor> r = kernel(vx, h.contiguous(), Wrz, Wh, optional_contiguous(reset),
                                           optional_contiguous(keep_mask), act, act_a, act_b);
  const std::initializer_list<at::Tensor> in = {vx, h, Wrz, Wh, reset, keep_mask};
  return {not_aliasing(r[0], in), not_aliasing(r[1], in), not_aliasing(r[2], in),
          not_aliasing(r[3], in), not_aliasing(r[4], in), not_aliasing(r[5], in)};
}

GruStepBackwardResult run_gru_step_backward(GruStepBackwardKernel kernel, const at::Tensor& dout, at::TensorList saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  check_gru_step_backward_args(dout, saved, Wrz, Wh, reset, keep_mask, act, act_a, act_b);
  std::vector<at::Tensor> saved_c;
  saved_c.reserve(saved.size());
  for (const at::Tensor& t : saved) saved_c.push_back(t.contiguous());
  const std::vector<at::Tensor> r = kernel(dout.contiguous(), saved_c, Wrz, Wh,
                                           optional_contiguous(reset),
                                           optional_contiguous(keep_mask), act, act_a, act_b);
  const std::initializer_list<at::Tensor> in = {dout, Wrz, Wh, reset, keep_mask};
  return {not_aliasing(r[0], in), not_aliasing(r[1], in), not_aliasing(r[2], in),
          not_aliasing(r[3], in)};
}

}  // namespace gru4rec
