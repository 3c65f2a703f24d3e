// Element-wise activations and their derivatives, usable from C++ and CUDA.
// Row-wise activations (softmax, softmax_logit) are not here: they need a row
// reduction and live in the loss kernels.
#pragma once
#include <cmath>
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

// y = act(x) for an element-wise activation code (ACT_LINEAR..ACT_SELU).
template <typename T>
G4R_HD T act_forward(int64_t act, T x, T a, T b) {
  switch (act) {
    case ACT_RELU: return x > T(0) ? x : T(0);
    case ACT_TANH: return g4r_tanh(x);
    case ACT_LEAKY: return x >= T(0) ? x : a * x;
    case ACT_ELU: return x >= T(0) ? x : a * (g4r_exp(x) - T(1));
    case ACT_SELU: return x >= T(0) ? a * x : a * b * (g4r_exp(x) - T(1));
    default: return x;  // ACT_LINEAR
  }
}

// dy/dx given x and y = act(x) (y saves an exp/tanh where it is known).
template <typename T>
G4R_HD T act_derivative(int64_t act, T x, T y, T a, T b) {
  switch (act) {
    case ACT_RELU: return x > T(0) ? T(1) : T(0);
    case ACT_TANH: return T(1) - y * y;
    case ACT_LEAKY: return x >= T(0) ? T(1) : a;
    case ACT_ELU: return x >= T(0) ? T(1) : y + a;            // a*exp(x) = y + a
    case ACT_SELU: return x >= T(0) ? a : y + a * b;          // a*b*exp(x) = y + a*b
    default: return T(1);
  }
}

// Numerically stable logistic function and log-sigmoid.
template <typename T>
G4R_HD T stable_sigmoid(T x) {
  if (x >= T(0)) {
    T e = g4r_exp(-x);
    return T(1) / (T(1) + e);
  }
  T e = g4r_exp(x);
  return e / (T(1) + e);
}

// log(sigmoid(x)) = -softplus(-x), exact for |x| up to the float range.
template <typename T>
G4R_HD T log_sigmoid(T x) {
  return x >= T(0) ? -g4r_log1p(g4r_exp(-x)) : x - g4r_log1p(g4r_exp(x));
}

}  // namespace gru4rec
