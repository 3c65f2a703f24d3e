// The optimisers' per-element formulas, usable from C++ and CUDA: the CUDA kernel
// (csrc/cuda/kernels/sparse_row_update_kernels.cuh) calls them as they are. The CPU
// kernel (csrc/cpu/sparse_row_update_cpu.cpp) keeps its row-at-a-time SIMD loops (a
// batched sqrt the compiler cannot produce from a scalar call) and the tests hold it
// to these (tests/ops/test_sparse_row_update.py compares the CPU and emulated-CUDA
// results). Unknown codes cannot reach here: G4R_DISPATCH_OPTIMIZER (dispatch.h)
// raises on them and makes OPT a compile-time constant.
#pragma once
#include <cmath>
#include <cstdint>

#include "activations.h"  // G4R_HD
#include "enums.h"

namespace gru4rec {

G4R_HD float g4r_sqrt(float x) { return ::sqrtf(x); }
G4R_HD double g4r_sqrt(double x) { return ::sqrt(x); }
G4R_HD float g4r_pow(float a, float b) { return ::powf(a, b); }
G4R_HD double g4r_pow(double a, double b) { return ::pow(a, b); }

// Adam's bias correction 1 - beta^t of a row's step count t, in double on CPU and CUDA
// alike: powf and pow-then-round differ in the last bit, which the Adam step magnifies
// (1 - beta2^t is small for the first steps). One call per row, so double costs nothing.
template <typename T>
G4R_HD T adam_bias_correction(T beta, T steps) {
  return T(1) - static_cast<T>(g4r_pow(static_cast<double>(beta), static_cast<double>(steps)));
}

template <typename T>
struct OptimizerHyper {
  T lr, momentum, lmbd, eps, p1, p2;  // p1, p2: rho, or Adam's beta1, beta2
};

// The adapted gradient u of one element from its summed gradient g, updating the
// element's accumulators *s1 (and *s2; unused ones may be null). bc1, bc2: Adam's bias
// corrections 1 - beta^t of the row's step count t.
template <int64_t OPT, typename T>
G4R_HD T adapted_gradient(T g, T* s1, T* s2, const OptimizerHyper<T>& h, T bc1, T bc2) {
  if constexpr (OPT == OPT_SGD) {
    return g;
  } else if constexpr (OPT == OPT_ADAGRAD) {
    const T a = *s1 + g * g;
    *s1 = a;
    return g / g4r_sqrt(a + h.eps);
  } else if constexpr (OPT == OPT_RMSPROP) {
    const T a = h.p1 * *s1 + (T(1) - h.p1) * g * g;
    *s1 = a;
    return g / g4r_sqrt(a + h.eps);
  } else if constexpr (OPT == OPT_ADAM) {
    const T m = h.p1 * *s2 + (T(1) - h.p1) * g;
    const T a = h.p2 * *s1 + (T(1) - h.p2) * g * g;
    *s2 = m;
    *s1 = a;
    return (m / bc1) / (g4r_sqrt(a / bc2) + h.eps);
  } else {
    static_assert(OPT == OPT_ADADELTA, "adapted_gradient: unknown optimizer code");
    const T a = h.p1 * *s1 + (T(1) - h.p1) * g * g;
    *s1 = a;
    const T acc = *s2;
    const T u = g * g4r_sqrt(acc + h.eps) / g4r_sqrt(a + h.eps);
    *s2 = h.p1 * acc + (T(1) - h.p1) * u * u;
    return u;
  }
}

// The step of one parameter element p from its adapted gradient u. L2 sits outside the
// adaptive scaling, as in the original: u += lmbd p after adapted_gradient, never in an
// accumulator. With momentum, *v is the element's velocity.
template <bool MOMENTUM, typename T>
G4R_HD T step_parameter(T p, T u, T* v, const OptimizerHyper<T>& h) {
  if (h.lmbd != T(0)) u += h.lmbd * p;
  if constexpr (MOMENTUM) {
    const T vel = h.momentum * *v - h.lr * u;
    *v = vel;
    return p + vel;
  } else {
    return p - h.lr * u;
  }
}

}  // namespace gru4rec
