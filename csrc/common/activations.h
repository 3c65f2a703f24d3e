// Element-wise activations and their derivatives, usable from C++ and CUDA.
// Row-wise activations (softmax, softmax_logit) are not here: they need a row
// reduction and live in the loss kernels.
#pragma once
#include <cmath>
#include <cstdlib>
#include "enums.h"

#if defined(__CUDACC__)
#define G4R_HD __host__ __device__ __forceinline__
#else
#define G4R_HD inline
#endif

namespace gru4rec {

// Precision-matched math: an unqualified exp(float) in host code resolves to the C
// double version (a slow convert-compute-round that also blocks vectorisation), so
// float goes to the float functions explicitly, on host and device alike.
G4R_HD float g4r_exp(float x) { return ::expf(x); }
G4R_HD double g4r_exp(double x) { return ::exp(x); }
G4R_HD float g4r_tanh(float x) { return ::tanhf(x); }
G4R_HD double g4r_tanh(double x) { return ::tanh(x); }
G4R_HD float g4r_log1p(float x) { return ::log1pf(x); }
G4R_HD double g4r_log1p(double x) { return ::log1p(x); }

// A code that no switch knows. The entry points check every code they are given, so
// reaching this is a bug: stop loudly (a device trap on CUDA) instead of computing
// something plausible.
[[noreturn]] G4R_HD void g4r_unknown_code() {
#if defined(__CUDA_ARCH__)
  __trap();
#else
  std::abort();
#endif
}

// y = act(x) for an element-wise activation code (ACT_LINEAR..ACT_SELU).
template <typename T>
G4R_HD T act_forward(int64_t act, T x, T a, T b) {
  switch (act) {
    case ACT_RELU: return x > T(0) ? x : T(0);
    case ACT_TANH: return g4r_tanh(x);
    case ACT_LEAKY: return x >= T(0) ? x : a * x;
    case ACT_ELU: return x >= T(0) ? x : a * (g4r_exp(x) - T(1));
    case ACT_SELU: return x >= T(0) ? a * x : a * b * (g4r_exp(x) - T(1));
    case ACT_LINEAR: return x;
    default: g4r_unknown_code();
  }
}

// dy/dx given x and y = act(x) (y saves an exp/tanh where it is known). At exactly
// x == 0 every kink takes its negative side's value, as torch's autograd does (relu 0,
// leaky a, elu a, selu a*b): the one convention of every kernel, CPU and CUDA, final
// and hidden activations alike (tests/ops/test_activation_at_zero.py).
template <typename T>
G4R_HD T act_derivative(int64_t act, T x, T y, T a, T b) {
  switch (act) {
    case ACT_RELU: return x > T(0) ? T(1) : T(0);
    case ACT_TANH: return T(1) - y * y;
    case ACT_LEAKY: return x > T(0) ? T(1) : a;
    case ACT_ELU: return x > T(0) ? T(1) : y + a;            // a*exp(x) = y + a
    case ACT_SELU: return x > T(0) ? a : y + a * b;          // a*b*exp(x) = y + a*b
    case ACT_LINEAR: return T(1);
    default: g4r_unknown_code();
  }
}

// Numerically stable logistic function (the GRU's gates).
template <typename T>
G4R_HD T stable_sigmoid(T x) {
  if (x >= T(0)) {
    T e = g4r_exp(-x);
    return T(1) / (T(1) + e);
  }
  T e = g4r_exp(x);
  return e / (T(1) + e);
}

// The losses' sigmoid helpers (sigmoid_pair, -log sigmoid) are in losses.h.

}  // namespace gru4rec
