// Test-only bindings of the emulation module (never in the product build):
//  * loss_terms_cpu_vs_shared(x): the CPU loss kernel's specialised element-wise math
//    (csrc/cpu/loss_math_cpu.h: exp_nonpos and the shared formulas evaluated with it)
//    beside the shared scalar functions (csrc/common/losses.h, activations.h) on every
//    element of x, so tests/ops/test_loss_terms.py can hold the one to the other.
//  * act_derivative_select_vs_shared(z, g): the CPU loss kernel's derivative loop body
//    (act_derivative_select of loss_math_cpu.h) beside g * act_derivative (activations.h,
//    as the CUDA kernel composes it), y = act_forward(z), for each element-wise activation.
//  * dispatch_loss_code / dispatch_final_activation_code: the dispatch macros the CPU
//    loss kernel runs once per call (csrc/common/dispatch.h); an unknown code raises.
//  * fused_loss_fwd_bwd_unchecked: the emulated CUDA launcher without the entry point's
//    argument checks, so a test can show that an unknown code reaching the kernel fails.
// Included by emu_module.cpp before the CUDA vocabulary macros of cuda_emu.h.
#pragma once
#include <torch/extension.h>

#include <map>
#include <string>
#include <type_traits>
#include <utility>

#include "common/activations.h"
#include "common/dispatch.h"
#include "common/losses.h"
#include "cpu/loss_math_cpu.h"

namespace gru4rec {
namespace loss_terms_check {

// name -> (CPU specialised, shared) of each element-wise function, same dtype as x.
template <typename T>
std::map<std::string, std::pair<at::Tensor, at::Tensor>> evaluate(const at::Tensor& x_in,
                                                                  double a, double b) {
  const at::Tensor x = x_in.contiguous();
  const int64_t n = x.numel();
  const T* v = x.data_ptr<T>();
  const char* names[] = {"exp", "sigmoid", "dsigmoid", "bpr_term", "bpr_grad", "elu", "selu"};
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> out;
  for (const char* name : names) out[name] = {at::empty_like(x), at::empty_like(x)};
  auto ptr = [&](const char* name, bool shared) {
    return (shared ? out[name].second : out[name].first).template data_ptr<T>();
  };
  T* exp_c = ptr("exp", false);
  T* exp_s = ptr("exp", true);
  T* sig_c = ptr("sigmoid", false);
  T* sig_s = ptr("sigmoid", true);
  T* dsig_c = ptr("dsigmoid", false);
  T* dsig_s = ptr("dsigmoid", true);
  T* bt_c = ptr("bpr_term", false);
  T* bt_s = ptr("bpr_term", true);
  T* bg_c = ptr("bpr_grad", false);
  T* bg_s = ptr("bpr_grad", true);
  T* elu_c = ptr("elu", false);
  T* elu_s = ptr("elu", true);
  T* selu_c = ptr("selu", false);
  T* selu_s = ptr("selu", true);
  const T ta = T(a), tb = T(b);
  for (int64_t k = 0; k < n; ++k) {
    const T u = v[k];
    // exp_nonpos's contract is x <= 0 (x > 0 reads as 0).
    exp_c[k] = exp_nonpos(u);
    exp_s[k] = g4r_exp(u > T(0) ? T(0) : u);
    sigmoid_pair_cpu(u, sig_c[k], dsig_c[k]);
    sigmoid_pair(u, sig_s[k], dsig_s[k]);
    // As the CPU bpr loop calls them: exp_nonpos(-|u|).
    const T e_c = exp_nonpos(-(u < T(0) ? -u : u));
    const T e_s = exp_neg_abs(u);
    bt_c[k] = bpr_term_from_exp(u, e_c);
    bt_s[k] = bpr_term_from_exp(u, e_s);
    bg_c[k] = bpr_grad_from_exp(u, e_c);
    bg_s[k] = bpr_grad_from_exp(u, e_s);
    elu_c[k] = elu_cpu(u, ta);
    elu_s[k] = act_forward<T>(ACT_ELU, u, ta, tb);
    selu_c[k] = selu_cpu(u, ta, tb);
    selu_s[k] = act_forward<T>(ACT_SELU, u, ta, tb);
  }
  return out;
}

// act code -> (act_derivative_select, g * act_derivative), z and g element by element.
template <typename T>
std::map<int64_t, std::pair<at::Tensor, at::Tensor>> evaluate_act_derivative(
    const at::Tensor& z_in, const at::Tensor& g_in, double a, double b) {
  const at::Tensor zt = z_in.contiguous(), gt = g_in.contiguous();
  const int64_t n = zt.numel();
  const T* z = zt.data_ptr<T>();
  const T* g = gt.data_ptr<T>();
  const T ta = T(a), tb = T(b);
  std::map<int64_t, std::pair<at::Tensor, at::Tensor>> out;
  auto run = [&](auto act_tag) {
    constexpr int64_t ACT = decltype(act_tag)::value;
    at::Tensor sel = at::empty_like(zt), shared = at::empty_like(zt);
    T* s = sel.data_ptr<T>();
    T* r = shared.data_ptr<T>();
    for (int64_t k = 0; k < n; ++k) {
      const T y = act_forward<T>(ACT, z[k], ta, tb);
      s[k] = act_derivative_select<ACT>(z[k], y, g[k], ta, tb);
      r[k] = g[k] * act_derivative<T>(ACT, z[k], y, ta, tb);
    }
    out[ACT] = {sel, shared};
  };
  run(std::integral_constant<int64_t, ACT_LINEAR>{});
  run(std::integral_constant<int64_t, ACT_RELU>{});
  run(std::integral_constant<int64_t, ACT_TANH>{});
  run(std::integral_constant<int64_t, ACT_LEAKY>{});
  run(std::integral_constant<int64_t, ACT_ELU>{});
  run(std::integral_constant<int64_t, ACT_SELU>{});
  return out;
}

inline void bind(pybind11::module& m) {
  m.def("act_derivative_select_vs_shared", [](const at::Tensor& z, const at::Tensor& g,
                                               double a, double b) {
    const char* op = "act_derivative_select_vs_shared";
    TORCH_CHECK(z.device().is_cpu() && g.device().is_cpu(), op, ": z and g must be CPU tensors");
    TORCH_CHECK(z.sizes() == g.sizes(), op, ": z and g must have the same shape, got ",
                z.sizes(), " and ", g.sizes());
    TORCH_CHECK(z.scalar_type() == g.scalar_type(), op, ": z and g must have the same dtype");
    if (z.scalar_type() == at::kFloat) return evaluate_act_derivative<float>(z, g, a, b);
    TORCH_CHECK(z.scalar_type() == at::kDouble, op, ": z must be float32 or float64");
    return evaluate_act_derivative<double>(z, g, a, b);
  }, pybind11::arg("z"), pybind11::arg("g"), pybind11::arg("a") = 1.0, pybind11::arg("b") = 1.0,
     "act code -> (act_derivative_select, g * act_derivative) with y = act_forward(z)");
  m.def("loss_terms_cpu_vs_shared", [](const at::Tensor& x, double a, double b) {
    TORCH_CHECK(x.device().is_cpu(), "loss_terms_cpu_vs_shared: x must be a CPU tensor");
    if (x.scalar_type() == at::kFloat) return evaluate<float>(x, a, b);
    TORCH_CHECK(x.scalar_type() == at::kDouble, "loss_terms_cpu_vs_shared: x must be float32 or float64");
    return evaluate<double>(x, a, b);
  }, pybind11::arg("x"), pybind11::arg("a") = 1.0, pybind11::arg("b") = 1.0,
     "name -> (CPU specialised, shared) of each element-wise loss / activation function");
  m.def("dispatch_loss_code", [](int64_t code) {
    int64_t seen = -1;
    G4R_DISPATCH_LOSS(code, "dispatch_loss_code", [&] { seen = kLoss; });
    return seen;
  }, pybind11::arg("code"), "the code G4R_DISPATCH_LOSS hands its body (raises on unknown)");
  m.def("dispatch_final_activation_code", [](int64_t code) {
    int64_t seen = -1;
    G4R_DISPATCH_FINAL_ACTIVATION(code, "dispatch_final_activation_code", [&] { seen = kAct; });
    return seen;
  }, pybind11::arg("code"),
     "the code G4R_DISPATCH_FINAL_ACTIVATION hands its body (raises on unknown)");
}

}  // namespace loss_terms_check
}  // namespace gru4rec
