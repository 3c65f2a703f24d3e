// The CPU loss kernel's specialised element-wise math (csrc/cpu/fused_loss_cpu.cpp):
// exp_nonpos, a vectorisable exp for x <= 0, the few shared formulas of losses.h /
// activations.h evaluated with it, and act_derivative_select, the select form of
// activations.h's act_derivative that the kernel's derivative loops call. Its own header so that the test-only emulation module
// (csrc/emu/loss_terms_check.h) can hold each of them to the shared scalar functions
// element by element (tests/ops/test_loss_terms.py).
//
// exp_nonpos: x > 0 is treated as 0; all callers pass x <= 0: max-subtracted softmax
// arguments, -|u| in sigmoids, min(z, 0) in ELU. float: Cephes-style range reduction +
// degree-6 polynomial (measured within 1 ulp of glibc's expf), written without calls or
// branches so that loops around it vectorise; std::exp is a scalar libm call. Results
// below FLT_MIN flush to 0. NaN propagates. double: std::exp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/enums.h"
#include "common/losses.h"

#if defined(__GNUC__)
#define G4R_CPU_INLINE inline __attribute__((always_inline))
#else
#define G4R_CPU_INLINE inline
#endif

namespace gru4rec {

G4R_CPU_INLINE float exp_nonpos(float x) {
  x = x > 0.f ? 0.f : x;
  const bool tiny = x < -87.3f;
  const float xc = tiny ? -87.3f : x;
  // n = round(xc / ln 2) by the 1.5 * 2^23 trick (no floor call).
  const float magic = 12582912.f;
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  uint32_t tb;
  std::memcpy(&tb, &t, 4);
  // ln 2 split in two so that r = xc - n ln2 is exact enough.
  float r = xc - n * 0.693359375f;
  r = r - n * (-2.12194440e-4f);
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.f;
  // 2^n built in the exponent field; n is in [-126, 0] here. Unsigned arithmetic:
  // garbage (never used) rather than UB for a NaN lane.
  const uint32_t sb = (tb - 0x4B400000u + 127u) << 23;
  float s;
  std::memcpy(&s, &sb, 4);
  e *= s;
  e = tiny ? 0.f : e;
  return x != x ? x : e;
}

G4R_CPU_INLINE double exp_nonpos(double x) {
  return std::exp(x > 0.0 ? 0.0 : x);
}

// The shared sigmoid_pair (losses.h) with exp_nonpos for exp(-|v|).
template <typename T>
G4R_CPU_INLINE void sigmoid_pair_cpu(T v, T& sig, T& dsig) {
  sigmoid_pair_from_exp(v, exp_nonpos(-(v < T(0) ? -v : v)), sig, dsig);
}

// act_forward's ELU and SELU (activations.h) with exp_nonpos, written as selects (both
// sides computed) so that the loops vectorise.
template <typename T>
G4R_CPU_INLINE T elu_cpu(T z, T a) {
  const T e = exp_nonpos(z);
  return z >= T(0) ? z : a * (e - T(1));
}

template <typename T>
G4R_CPU_INLINE T selu_cpu(T z, T a, T b) {
  const T e = exp_nonpos(z);
  return z >= T(0) ? a * z : a * b * (e - T(1));
}

// dL/dz = g * act_derivative(ACT, z, y, a, b) (activations.h) for the element-wise
// activations, written as selects on g: the form that vectorises in every instantiation
// of the CPU loss kernel (calling act_derivative there measured 1.8x slower for bpr-max +
// ELU). Same convention at z == 0: the negative side's value. One difference by design:
// ReLU's negative side is a plain 0, not g * 0, so it is +0 (not NaN or -0) for a
// non-finite or negative g. tests/ops/test_loss_terms.py holds it to act_derivative.
template <int64_t ACT, typename T>
G4R_CPU_INLINE T act_derivative_select(T z, T y, T g, T a, T b) {
  if constexpr (ACT == ACT_LINEAR) {
    return g;
  } else if constexpr (ACT == ACT_RELU) {
    return z > T(0) ? g : T(0);
  } else if constexpr (ACT == ACT_TANH) {
    return g * (T(1) - y * y);
  } else if constexpr (ACT == ACT_LEAKY) {
    return z > T(0) ? g : a * g;
  } else if constexpr (ACT == ACT_ELU) {  // a exp(z) = y + a on the negative side
    return z > T(0) ? g : g * (y + a);
  } else {
    static_assert(ACT == ACT_SELU, "act_derivative_select: not an element-wise activation code");
    return z > T(0) ? a * g : g * (y + a * b);  // a b exp(z) = y + a b on the negative side
  }
}

}  // namespace gru4rec
