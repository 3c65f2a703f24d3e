// CPU kernel of fused_loss: one task per row (at::parallel_for), every row handled in a
// few tight passes over small per-thread work arrays that stay in L1/L2. The published
// setups' pairs (cross-entropy + softmax without smoothing, bpr-max + ELU) take fused
// rows with explicit AVX2 / AVX-512 code where the CPU has it (csrc/cpu/
// fused_loss_simd_rows.h: 3-5 passes instead of 10-13, the same results bit for bit);
// everything below describes the general row, which every other case takes.
//
// Scheme per row: z = x - offset, y = act(z), g = dL/dy with the positive d = y_ii
// treated as its own variable (dL/dd is added to g_ii), then the chain rule through
// the activation. Element-wise loops are written so that GCC vectorises them: no
// library calls in the hot float loops (exp is a branch-free polynomial, below),
// selects instead of branches, reductions over 8 independent lanes. The loss terms and
// derivatives are the shared ones of csrc/common/losses.h (the CUDA kernel calls the
// same); this file brings only the row passes, the lane sums and exp_nonpos (the
// vectorisable exp, csrc/cpu/loss_math_cpu.h). The loss and activation codes are dispatched
// once per call (G4R_DISPATCH_LOSS / G4R_DISPATCH_FINAL_ACTIVATION): one row loop per
// (loss, activation) pair, no switch inside it, an unknown code raises.
#include "fused_loss_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "common/dispatch.h"
#include "common/enums.h"

// GCC only if-converts (and so vectorises) the float selects below when it may assume
// that no code traps on floating-point exceptions; nothing here (or in torch) unmasks
// FP traps, and the option does not change any result. After the torch includes, but
// before the shared formula headers: GCC does not inline a function whose optimisation
// options differ from its caller's (losses.h's helpers into these loops, which then
// stop vectorising: 4-50x slower).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "common/activations.h"
#include "common/losses.h"
#include "cpu/loss_math_cpu.h"
#include "cpu/simd_ops_cpu.h"

namespace gru4rec {
namespace {

// Everything a row touches is force-inlined into the row loops at the end (plain x86-64,
// an AVX2+FMA copy, and for float the fused rows' AVX2 and AVX-512 copies, chosen at run
// time), so that the AVX2 copy vectorises 8 floats wide; the build itself targets
// baseline x86-64 (SSE2).
#if defined(__GNUC__)
#define G4R_INLINE inline __attribute__((always_inline))
#else
#define G4R_INLINE inline
#endif

constexpr int kLanes = 8;

// The lanes of the row sums combined in one fixed order (lane_sum; the fused rows'
// sums, fused_loss_simd_rows.h, too).
G4R_INLINE double combine_lanes(const double* acc) {
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// Row sums over 8 lanes accumulated in double: a plain float running sum over a few
// thousand terms loses ~log2(N) bits (more than torch's cascade sum does), and the
// widening costs little next to the exp-heavy element-wise loops. term(j) gives the
// j-th term as a double; column j goes to lane j mod 8 for the full blocks of 8, the
// tail to lane 0.
template <typename T, typename Term>
G4R_INLINE T lane_sum(int64_t n, Term term) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += term(j + l);
  for (; j < n; ++j) acc[0] += term(j);
  return T(combine_lanes(acc));
}

#if defined(__GNUC__)
#define G4R_INLINE_LAMBDA __attribute__((always_inline))
#else
#define G4R_INLINE_LAMBDA
#endif

template <typename T>
G4R_INLINE T sum_lanes(const T* v, int64_t n) {
  return lane_sum<T>(n, [v](int64_t j) G4R_INLINE_LAMBDA { return double(v[j]); });
}

template <typename T>
G4R_INLINE T dot_lanes(const T* a, const T* b, int64_t n) {
  return lane_sum<T>(n, [a, b](int64_t j) G4R_INLINE_LAMBDA { return double(a[j]) * double(b[j]); });
}

// sum_j a_j * b_j * b_j
template <typename T>
G4R_INLINE T dot_sq_lanes(const T* a, const T* b, int64_t n) {
  return lane_sum<T>(n, [a, b](int64_t j) G4R_INLINE_LAMBDA {
    const double bj = double(b[j]);
    return double(a[j]) * bj * bj;
  });
}

// The max of 8 lanes, in one fixed order.
template <typename T>
G4R_INLINE T max_of_lanes(const T* acc) {
  T m = acc[0];
  for (int l = 1; l < kLanes; ++l) m = acc[l] > m ? acc[l] : m;
  return m;
}

// Max ignoring NaN (non-finite rows are flagged separately).
template <typename T>
G4R_INLINE T max_lanes(const T* v, int64_t n) {
  const T ninf = -std::numeric_limits<T>::infinity();
  T acc[kLanes] = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = v[j + l] > acc[l] ? v[j + l] : acc[l];
  for (; j < n; ++j) acc[0] = v[j] > acc[0] ? v[j] : acc[0];
  return max_of_lanes(acc);
}

// True when every z is finite (z * 0 is NaN exactly for NaN and +-inf).
template <typename T>
G4R_INLINE bool all_finite(const T* z, int64_t n) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += z[j + l] * T(0);
  for (; j < n; ++j) acc[0] += z[j] * T(0);
  T s = sum_lanes(acc, kLanes);
  return s == s;
}

struct LossConfig {
  double a, b, bpreg, w_pos, w_all, scale;
};

// Work arrays of one row, N entries each, allocated once per task and left
// uninitialised (every pass writes before it reads), but for zeros: all zero, never
// written, the offsets of a call without logQ for the fused rows, which subtract an
// offset unconditionally (x - 0 is x, bit for bit).
template <typename T>
struct RowWork {
  T *z, *y, *prob, *neg, *u1, *u2, *u3, *u4;
  const T* zeros;
  explicit RowWork(int64_t n) : buf(new T[kArrays * n]) {
    T* p = buf.get();
    z = p; y = p + n; prob = p + 2 * n; neg = p + 3 * n;
    u1 = p + 4 * n; u2 = p + 5 * n; u3 = p + 6 * n; u4 = p + 7 * n;
    std::fill(p + 8 * n, p + 9 * n, T(0));
    zeros = p + 8 * n;
  }
  static constexpr int kArrays = 9;

 private:
  std::unique_ptr<T[]> buf;
};

// y = act(z); for softmax / softmax_logit also prob = softmax(z). The element-wise
// activations are act_forward's (activations.h), ELU / SELU with exp_nonpos instead of
// the libm exp (loss_math_cpu.h).
template <int64_t ACT, typename T>
G4R_INLINE void activation_forward(const LossConfig& c, int64_t N, RowWork<T>& w) {
  const T* z = w.z;
  T* y = w.y;
  const T a = T(c.a), b = T(c.b);
  if constexpr (ACT == ACT_LINEAR) {
    for (int64_t j = 0; j < N; ++j) y[j] = z[j];
  } else if constexpr (ACT == ACT_RELU) {
    for (int64_t j = 0; j < N; ++j) y[j] = z[j] > T(0) ? z[j] : T(0);
  } else if constexpr (ACT == ACT_TANH) {
    for (int64_t j = 0; j < N; ++j) y[j] = std::tanh(z[j]);
  } else if constexpr (ACT == ACT_LEAKY) {
    for (int64_t j = 0; j < N; ++j) y[j] = z[j] >= T(0) ? z[j] : a * z[j];
  } else if constexpr (ACT == ACT_ELU) {
    for (int64_t j = 0; j < N; ++j) y[j] = elu_cpu(z[j], a);
  } else if constexpr (ACT == ACT_SELU) {
    for (int64_t j = 0; j < N; ++j) y[j] = selu_cpu(z[j], a, b);
  } else {
    static_assert(ACT == ACT_SOFTMAX || ACT == ACT_SOFTMAX_LOGIT,
                  "activation_forward: unknown activation code");
    const T m = max_lanes(z, N);
    T* p = w.prob;
    for (int64_t j = 0; j < N; ++j) p[j] = exp_nonpos(z[j] - m);
    const T s = sum_lanes(p, N);
    const T inv_s = T(1) / s;
    for (int64_t j = 0; j < N; ++j) p[j] *= inv_s;
    if constexpr (ACT == ACT_SOFTMAX) {
      for (int64_t j = 0; j < N; ++j) y[j] = p[j];
    } else {
      // (m - z) + log(s), not (m + log(s)) - z: exact where z is near the max,
      // which is where y is small and -log(y) sensitive.
      const T log_s = std::log(s);
      for (int64_t j = 0; j < N; ++j) y[j] = (m - z[j]) + log_s;
    }
  }
}

// neg = softmax of y over j != i (neg[i] = 0). Needs N >= 2.
template <typename T>
G4R_INLINE void negative_softmax(int64_t N, int64_t i, RowWork<T>& w) {
  T* y = w.y;
  T* s = w.neg;
  const T d = y[i];
  y[i] = -std::numeric_limits<T>::infinity();
  const T m = max_lanes(y, N);
  y[i] = d;
  for (int64_t j = 0; j < N; ++j) s[j] = exp_nonpos(y[j] - m);
  s[i] = T(0);
  const T inv = T(1) / sum_lanes(s, N);
  for (int64_t j = 0; j < N; ++j) s[j] *= inv;
}

// top1 / top1-max: sigma(y_j - d) into (u1, u2) and sigma(y_j^2) into (u3, u4), each as
// (value, derivative).
template <typename T>
G4R_INLINE void top1_sigmoids(int64_t N, const T* y, T d, RowWork<T>& w) {
  T *sa = w.u1, *da = w.u2, *sb = w.u3, *db = w.u4;
  for (int64_t j = 0; j < N; ++j) {
    sigmoid_pair_cpu(y[j] - d, sa[j], da[j]);
    sigmoid_pair_cpu(y[j] * y[j], sb[j], db[j]);
  }
}

// bpr_max_loss out of line, compiled for the baseline target: inlined into the AVX2 clone,
// GCC contracted bpreg * R + -log(P) into an FMA in one row loop and not in another, so
// the loss's last bit depended on which row computed it. Baseline x86-64 has no FMA: the
// product is rounded on its own, everywhere, as before the fused rows.
template <typename T>
__attribute__((noinline)) T bpr_max_row_loss(T P, T bpreg, T R) {
  return bpr_max_loss(P, bpreg, R);
}

// Loss of one row (unscaled); writes g = dL/dy (d's own derivative added at i) to g.
// The formulas are losses.h's; the loops around them are split so that the exp-heavy
// ones vectorise and the libm calls (log, log1p) sit in loops of their own.
template <int64_t LOSS, typename T>
G4R_INLINE T loss_and_grad_y(const LossConfig& c, int64_t N, int64_t i, RowWork<T>& w, T* g) {
  const T* y = w.y;
  const T d = y[i];
  const T w_pos = T(c.w_pos), w_all = T(c.w_all);
  if constexpr (LOSS == LOSS_CROSS_ENTROPY) {
    T sum_log = T(0);
    if (w_all != T(0)) {
      T* lg = w.u1;
      for (int64_t j = 0; j < N; ++j) lg[j] = xe_log_term(y[j]);
      for (int64_t j = 0; j < N; ++j) g[j] = xe_grad(w_all, y[j]);
      sum_log = sum_lanes(lg, N);
    } else {
      for (int64_t j = 0; j < N; ++j) g[j] = T(0);
    }
    g[i] += xe_grad(w_pos, d);
    return xe_loss(w_pos, xe_log_term(d), w_all, sum_log);
  } else if constexpr (LOSS == LOSS_XE_LOGIT) {
    const T sum_y = w_all != T(0) ? sum_lanes(y, N) : T(0);
    for (int64_t j = 0; j < N; ++j) g[j] = xe_logit_grad(w_all, w_pos, false);
    g[i] = xe_logit_grad(w_all, w_pos, true);
    return xe_logit_loss(w_pos, d, w_all, sum_y);
  } else if constexpr (LOSS == LOSS_BPR) {
    T* ex = w.u1;
    T* u = w.u2;
    for (int64_t j = 0; j < N; ++j) {
      const T uj = d - y[j];
      const T e = exp_nonpos(-(uj < T(0) ? -uj : uj));
      ex[j] = e;
      u[j] = uj;
      g[j] = bpr_grad_from_exp(uj, e);
    }
    T* lp = w.u3;
    for (int64_t j = 0; j < N; ++j) lp[j] = bpr_term_from_exp(u[j], ex[j]);
    g[i] -= sum_lanes(g, N);  // dL/dd = -sum_j dL/dy_j
    return sum_lanes(lp, N);
  } else if constexpr (LOSS == LOSS_BPR_MAX) {
    if (N == 1) {  // no negatives: S = 0, loss -log(1e-24), no gradient
      g[0] = T(0);
      return bpr_max_loss_without_negatives<T>();
    }
    negative_softmax(N, i, w);
    const T* s = w.neg;
    T* sig = w.u1;
    T* dsig = w.u2;
    for (int64_t j = 0; j < N; ++j) sigmoid_pair_cpu(d - y[j], sig[j], dsig[j]);
    const T S1 = dot_lanes(s, sig, N);
    const T Q = dot_lanes(s, dsig, N);
    const T R = dot_sq_lanes(s, y, N);
    const T P = bpr_max_p(S1);
    const T inv_p = T(1) / P;
    const T reg = T(c.bpreg);
    for (int64_t j = 0; j < N; ++j)
      g[j] = bpr_max_grad(s[j], sig[j], dsig[j], y[j], S1, inv_p, reg, R);
    g[i] += bpr_max_grad_positive(Q, inv_p);  // s_i = 0: g[i] was 0
    return bpr_max_row_loss(P, reg, R);
  } else if constexpr (LOSS == LOSS_TOP1) {
    const T inv_n = T(1) / T(N);
    top1_sigmoids(N, y, d, w);
    const T* sa = w.u1;
    const T* da = w.u2;
    const T* sb = w.u3;
    const T* db = w.u4;
    for (int64_t j = 0; j < N; ++j) g[j] = top1_grad(inv_n, da[j], y[j], db[j]);
    T sd, dsd;
    sigmoid_pair_cpu(d * d, sd, dsd);
    g[i] += top1_grad_positive(inv_n, sum_lanes(da, N), d, dsd);
    return top1_loss(inv_n, sum_lanes(sa, N), sum_lanes(sb, N), sd);
  } else {
    static_assert(LOSS == LOSS_TOP1_MAX, "loss_and_grad_y: unknown loss code");
    if (N == 1) {  // no negatives: zero loss and gradient
      g[0] = T(0);
      return T(0);
    }
    negative_softmax(N, i, w);
    const T* s = w.neg;
    top1_sigmoids(N, y, d, w);
    const T* sa = w.u1;
    const T* da = w.u2;
    const T* sb = w.u3;
    const T* db = w.u4;
    const T Tot = dot_lanes(s, sa, N) + dot_lanes(s, sb, N);
    for (int64_t j = 0; j < N; ++j)
      g[j] = top1_max_grad(s[j], sa[j], sb[j], Tot, da[j], y[j], db[j]);
    g[i] += top1_max_grad_positive(dot_lanes(s, da, N));
    return Tot;
  }
}

// out = (dL/dz) * scale from g = dL/dy (g may alias out).
template <int64_t ACT, typename T>
G4R_INLINE void activation_backward(const LossConfig& c, int64_t N, const RowWork<T>& w,
                                    const T* g, T* out) {
  const T* z = w.z;
  const T* y = w.y;
  const T a = T(c.a), b = T(c.b), sc = T(c.scale);
  if constexpr (ACT == ACT_SOFTMAX) {  // dz_j = y_j (g_j - sum_k y_k g_k)
    const T t = dot_lanes(y, g, N);
    for (int64_t j = 0; j < N; ++j) out[j] = y[j] * (g[j] - t) * sc;
  } else if constexpr (ACT == ACT_SOFTMAX_LOGIT) {  // y = lse - z: dz_j = p_j sum_k g_k - g_j
    const T gs = sum_lanes(g, N);
    const T* p = w.prob;
    for (int64_t j = 0; j < N; ++j) out[j] = (p[j] * gs - g[j]) * sc;
  } else {
    // Element-wise: the select form of act_derivative (loss_math_cpu.h), which vectorises;
    // its convention at z == 0 is the negative side's value, as torch
    // (tests/ops/test_activation_at_zero.py, tests/ops/test_loss_terms.py).
    for (int64_t j = 0; j < N; ++j) out[j] = act_derivative_select<ACT>(z[j], y[j], g[j], a, b) * sc;
  }
}

// Non-finite scores: the loss is NaN (training must stop), so is the row's gradient.
template <typename T>
G4R_INLINE T nan_row(T* out, int64_t N) {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  for (int64_t j = 0; j < N; ++j) out[j] = nan;
  return nan;
}

// One row, any (loss, activation) pair: the passes above, one step each (10-13 passes
// over the row; the published setups' pairs have fused rows, fused_loss_simd_rows.h).
template <int64_t LOSS, int64_t ACT, typename T>
G4R_INLINE T fused_loss_row(const LossConfig& c, const T* x, const T* off, T* out, int64_t N,
                            int64_t i, RowWork<T>& w) {
  if (off != nullptr) {
    for (int64_t j = 0; j < N; ++j) w.z[j] = x[j] - off[j];
  } else {
    for (int64_t j = 0; j < N; ++j) w.z[j] = x[j];
  }
  if (!all_finite(w.z, N)) return nan_row(out, N);
  activation_forward<ACT>(c, N, w);
  const T L = loss_and_grad_y<LOSS>(c, N, i, w, out);
  activation_backward<ACT>(c, N, w, out, out);
  return L;
}

// flatten: every call below is inlined, however large the instantiation grows. Without
// it GCC's growth limits left the shared helpers of losses.h / activations.h out-of-line
// in the larger pairs (bpr-max with ELU: its loops stopped vectorising, 1.8x slower).
#if defined(__GNUC__)
#define G4R_FLATTEN __attribute__((flatten))
#else
#define G4R_FLATTEN
#endif

template <int64_t LOSS, int64_t ACT, typename T>
G4R_FLATTEN void fused_loss_rows(const LossConfig& c, const T* x, const T* off, T* out, int64_t N,
                     int64_t begin, int64_t end, RowWork<T>& w, double* row_loss) {
  for (int64_t i = begin; i < end; ++i)
    row_loss[i] = double(fused_loss_row<LOSS, ACT, T>(c, x + i * N, off, out + i * N, N, i, w));
}

#ifdef G4R_HAVE_SIMD_OPS
// The fused rows, once per instruction set (csrc/cpu/fused_loss_simd_rows.h).
namespace avx2 {
using O = Avx2Ops;
#define G4R_SIMD_TARGET G4R_AVX2_TARGET
#define G4R_SIMD_FN inline __attribute__((always_inline, target(G4R_AVX2_TARGET)))
#include "cpu/fused_loss_simd_rows.h"
#undef G4R_SIMD_FN
#undef G4R_SIMD_TARGET
}  // namespace avx2

// GCC 12 warns -Wmaybe-uninitialized inside its own AVX-512 intrinsics (their
// _mm512_undefined_* pass-through operands, GCC bug 105593): silenced for this copy.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace avx512 {
using O = Avx512Ops;
#define G4R_SIMD_TARGET G4R_AVX512_TARGET
#define G4R_SIMD_FN inline __attribute__((always_inline, target(G4R_AVX512_TARGET)))
#include "cpu/fused_loss_simd_rows.h"
#undef G4R_SIMD_FN
#undef G4R_SIMD_TARGET
}  // namespace avx512
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// The general row in an AVX2 + FMA copy (GCC vectorises its loops 8 floats wide).
template <int64_t LOSS, int64_t ACT>
__attribute__((target(G4R_AVX2_TARGET))) G4R_FLATTEN void general_rows_avx2(
    const LossConfig& c, const float* x, const float* off, float* out, int64_t N,
    int64_t begin, int64_t end, RowWork<float>& w, double* row_loss) {
  for (int64_t i = begin; i < end; ++i)
    row_loss[i] = double(fused_loss_row<LOSS, ACT, float>(c, x + i * N, off, out + i * N, N, i, w));
}
#endif

// The pairs with fused rows (fused_loss_simd_rows.h).
template <int64_t LOSS, int64_t ACT>
constexpr bool kHasFusedRows =
    (LOSS == LOSS_CROSS_ENTROPY && ACT == ACT_SOFTMAX) || (LOSS == LOSS_BPR_MAX && ACT == ACT_ELU);

// The copy of the row code float calls run: by default the widest one the CPU has.
// GRU4REC_FAST_CPU_LOSS_PATH forces one, to compare them (tests/ops/test_fused_loss_rows.py):
// avx512 or avx2 (the fused rows at 16 / 8 lanes), general (the general row's AVX2 copy,
// the kernel as it was before the fused rows) or baseline (the portable copy: no FMA, so
// its last bits differ). A copy the CPU cannot run falls back to the next one.
enum class RowPath { kBaseline, kGeneral, kAvx2, kAvx512 };

RowPath float_row_path() {
  static const RowPath path = [] {
#ifdef G4R_HAVE_SIMD_OPS
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
#else
    const bool avx2 = false, avx512 = false;
#endif
    const char* forced = std::getenv("GRU4REC_FAST_CPU_LOSS_PATH");
    const std::string want = forced != nullptr ? forced : "auto";
    TORCH_CHECK(want == "auto" || want == "avx512" || want == "avx2" || want == "general" ||
                    want == "baseline",
                "GRU4REC_FAST_CPU_LOSS_PATH must be one of auto, avx512, avx2, general, "
                "baseline; got '", want, "'");
    if (want == "baseline" || !avx2) return RowPath::kBaseline;
    if (want == "general") return RowPath::kGeneral;
    if (want == "avx2" || !avx512) return RowPath::kAvx2;
    return RowPath::kAvx512;
  }();
  return path;
}

// Row loop for one dtype: float takes the copy float_row_path() names; double the
// portable general row.
template <int64_t LOSS, int64_t ACT>
void run_rows(const LossConfig& c, const double* x, const double* off, double* out, int64_t N,
              int64_t begin, int64_t end, RowWork<double>& w, double* row_loss) {
  fused_loss_rows<LOSS, ACT, double>(c, x, off, out, N, begin, end, w, row_loss);
}

template <int64_t LOSS, int64_t ACT>
void run_rows(const LossConfig& c, const float* x, const float* off, float* out, int64_t N,
              int64_t begin, int64_t end, RowWork<float>& w, double* row_loss) {
#ifdef G4R_HAVE_SIMD_OPS
  switch (float_row_path()) {
    case RowPath::kAvx512:
      if constexpr (kHasFusedRows<LOSS, ACT>) {
        avx512::loss_rows<LOSS, ACT>(c, x, off, out, N, begin, end, w, row_loss);
        return;
      }
      [[fallthrough]];
    case RowPath::kAvx2:
      if constexpr (kHasFusedRows<LOSS, ACT>) {
        avx2::loss_rows<LOSS, ACT>(c, x, off, out, N, begin, end, w, row_loss);
        return;
      }
      [[fallthrough]];
    case RowPath::kGeneral:
      general_rows_avx2<LOSS, ACT>(c, x, off, out, N, begin, end, w, row_loss);
      return;
    case RowPath::kBaseline:
      break;
  }
#endif
  fused_loss_rows<LOSS, ACT, float>(c, x, off, out, N, begin, end, w, row_loss);
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cpu(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  const int64_t B = scores.size(0), N = scores.size(1);
  auto dscores = at::empty_like(scores);
  auto loss_out = at::zeros({}, scores.options());
  if (B == 0) return {loss_out, dscores};
  const SmoothingWeights sw = smoothing_weights(smoothing, N);
  const LossConfig cfg{act_a, act_b, bpreg, sw.pos, sw.all, scale};
  const bool has_offset = col_offset.numel() > 0;
  std::vector<double> row_loss(B);
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "fused_loss_fwd_bwd_cpu", [&] {
    const scalar_t* x = scores.data_ptr<scalar_t>();
    const scalar_t* off = has_offset ? col_offset.data_ptr<scalar_t>() : nullptr;
    scalar_t* out = dscores.data_ptr<scalar_t>();
    // About 32k elements per task: small enough to split B = 32..256 rows over a
    // few threads, large enough to amortise the task start.
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(N, 1));
    // The row code's copy (it may raise for a bad GRU4REC_FAST_CPU_LOSS_PATH) and the
    // codes, once per call, on the calling thread (an unknown code raises here).
    if (std::is_same_v<scalar_t, float>) float_row_path();
    G4R_DISPATCH_LOSS(loss, "fused_loss_fwd_bwd_cpu", [&] {
      G4R_DISPATCH_FINAL_ACTIVATION(final_act, "fused_loss_fwd_bwd_cpu", [&] {
        at::parallel_for(0, B, grain, [&](int64_t begin, int64_t end) {
          RowWork<scalar_t> w(N);
          run_rows<kLoss, kAct>(cfg, x, off, out, N, begin, end, w, row_loss.data());
        });
      });
    });
    // Fixed-order sum: the result does not depend on the thread count.
    double total = 0.0;
    for (int64_t i = 0; i < B; ++i) total += row_loss[i];
    loss_out.fill_(static_cast<scalar_t>(total * scale));
  });
  return {loss_out, dscores};
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/fused_loss.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "fused_loss.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "fused_loss_fwd_bwd", run_fused_loss_fwd_bwd, fused_loss_fwd_bwd_cpu);
}
