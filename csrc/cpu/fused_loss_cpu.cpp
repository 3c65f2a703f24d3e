// CPU kernel of fused_loss: one task per row (at::parallel_for), every row handled in a
// few tight passes over small per-thread work arrays that stay in L1/L2.
//
// Scheme per row: z = x - offset, y = act(z), g = dL/dy with the positive d = y_ii
// treated as its own variable (dL/dd is added to g_ii), then the chain rule through
// the activation. Element-wise loops are written so that GCC vectorises them: no
// library calls in the hot float loops (exp is a branch-free polynomial, below),
// selects instead of branches, reductions over 8 independent lanes.
#include "fused_loss_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "common/activations.h"
#include "common/enums.h"

// GCC only if-converts (and so vectorises) the float selects below when it may assume
// that no code traps on floating-point exceptions; nothing here (or in torch) unmasks
// FP traps, and the option does not change any result. File-local, after all includes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

namespace gru4rec {
namespace {

// Everything a row touches is force-inlined into the two row loops at the end (plain
// x86-64 and an AVX2+FMA clone chosen at run time), so that the AVX2 clone vectorises
// 8 floats wide; the build itself targets baseline x86-64 (SSE2).
#if defined(__GNUC__)
#define G4R_INLINE inline __attribute__((always_inline))
#else
#define G4R_INLINE inline
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#define G4R_AVX2_CLONE 1
#endif

constexpr double kLossEps = 1e-24;  // as in the spec: -log(y + 1e-24), -log(S + 1e-24)
constexpr int kLanes = 8;

// exp(x) for x <= 0 (x > 0 is treated as 0; all callers pass x <= 0: max-subtracted
// softmax arguments, -|u| in sigmoids, min(z, 0) in ELU). float: Cephes-style range
// reduction + degree-6 polynomial (about 1 ulp), written without calls or branches so
// that loops around it vectorise; std::exp is a scalar libm call. Results below
// FLT_MIN flush to 0. NaN propagates.
G4R_INLINE float exp_nonpos(float x) {
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

G4R_INLINE double exp_nonpos(double x) { return std::exp(x > 0.0 ? 0.0 : x); }

// Row sums over 8 lanes accumulated in double: a plain float running sum over a few
// thousand terms loses ~log2(N) bits (more than torch's cascade sum does), and the
// widening costs little next to the exp-heavy element-wise loops. term(j) gives the
// j-th term as a double; the lanes are combined in one fixed order.
template <typename T, typename Term>
G4R_INLINE T lane_sum(int64_t n, Term term) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += term(j + l);
  for (; j < n; ++j) acc[0] += term(j);
  return T(((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])));
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

// Max ignoring NaN (non-finite rows are flagged separately).
template <typename T>
G4R_INLINE T max_lanes(const T* v, int64_t n) {
  const T ninf = -std::numeric_limits<T>::infinity();
  T acc[kLanes] = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] = v[j + l] > acc[l] ? v[j + l] : acc[l];
  for (; j < n; ++j) acc[0] = v[j] > acc[0] ? v[j] : acc[0];
  T m = acc[0];
  for (int l = 1; l < kLanes; ++l) m = acc[l] > m ? acc[l] : m;
  return m;
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
  int64_t loss, act;
  double a, b, bpreg, smoothing, scale;
};

// Work arrays of one row, N entries each.
template <typename T>
struct RowWork {
  T *z, *y, *prob, *neg, *u1, *u2, *u3, *u4;
  explicit RowWork(std::vector<T>& buf, int64_t n) {
    T* p = buf.data();
    z = p; y = p + n; prob = p + 2 * n; neg = p + 3 * n;
    u1 = p + 4 * n; u2 = p + 5 * n; u3 = p + 6 * n; u4 = p + 7 * n;
  }
  static constexpr int kArrays = 8;
};

// y = act(z); for softmax / softmax_logit also prob = softmax(z).
template <typename T>
G4R_INLINE void activation_forward(const LossConfig& c, int64_t N, RowWork<T>& w) {
  const T* z = w.z;
  T* y = w.y;
  const T a = T(c.a), b = T(c.b);
  switch (c.act) {
    case ACT_RELU:
      for (int64_t j = 0; j < N; ++j) y[j] = z[j] > T(0) ? z[j] : T(0);
      break;
    case ACT_TANH:
      for (int64_t j = 0; j < N; ++j) y[j] = std::tanh(z[j]);
      break;
    case ACT_LEAKY:
      for (int64_t j = 0; j < N; ++j) y[j] = z[j] >= T(0) ? z[j] : a * z[j];
      break;
    case ACT_ELU:
      for (int64_t j = 0; j < N; ++j) {
        const T e = exp_nonpos(z[j]);
        y[j] = z[j] >= T(0) ? z[j] : a * (e - T(1));
      }
      break;
    case ACT_SELU:
      for (int64_t j = 0; j < N; ++j) {
        const T e = exp_nonpos(z[j]);
        y[j] = z[j] >= T(0) ? a * z[j] : a * b * (e - T(1));
      }
      break;
    case ACT_SOFTMAX:
    case ACT_SOFTMAX_LOGIT: {
      const T m = max_lanes(z, N);
      T* p = w.prob;
      for (int64_t j = 0; j < N; ++j) p[j] = exp_nonpos(z[j] - m);
      const T s = sum_lanes(p, N);
      const T inv_s = T(1) / s;
      for (int64_t j = 0; j < N; ++j) p[j] *= inv_s;
      if (c.act == ACT_SOFTMAX) {
        for (int64_t j = 0; j < N; ++j) y[j] = p[j];
      } else {
        // (m - z) + log(s), not (m + log(s)) - z: exact where z is near the max,
        // which is where y is small and -log(y) sensitive.
        const T log_s = std::log(s);
        for (int64_t j = 0; j < N; ++j) y[j] = (m - z[j]) + log_s;
      }
      break;
    }
    default:  // ACT_LINEAR
      for (int64_t j = 0; j < N; ++j) y[j] = z[j];
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

// sig[j] = sigmoid(v[j]), dsig[j] = sigmoid'(v[j]) = sig (1 - sig), both stable:
// with e = exp(-|v|), sigmoid(v) = 1/(1+e) for v >= 0 else e/(1+e); sig' = e/(1+e)^2.
template <typename T>
G4R_INLINE void sigmoid_pair(T v, T& sig, T& dsig) {
  const T av = v < T(0) ? -v : v;
  const T e = exp_nonpos(-av);
  const T inv = T(1) / (T(1) + e);
  sig = v >= T(0) ? inv : e * inv;
  dsig = e * inv * inv;
}

// Loss of one row (unscaled); writes g = dL/dy (d's own derivative added at i) to g.
template <typename T>
G4R_INLINE T loss_and_grad_y(const LossConfig& c, int64_t N, int64_t i, RowWork<T>& w, T* g) {
  const T* y = w.y;
  const T d = y[i];
  const T eps = T(kLossEps);
  T w_pos = T(1), w_all = T(0);
  if (N > 1 && c.smoothing > 0) {
    w_pos = T(1.0 - c.smoothing * double(N) / double(N - 1));
    w_all = T(c.smoothing / double(N - 1));
  }
  switch (c.loss) {
    case LOSS_CROSS_ENTROPY: {
      T L = T(0);
      if (w_all != T(0)) {
        T* lg = w.u1;
        for (int64_t j = 0; j < N; ++j) lg[j] = std::log(y[j] + eps);
        for (int64_t j = 0; j < N; ++j) g[j] = -w_all / (y[j] + eps);
        L = -w_all * sum_lanes(lg, N);
      } else {
        for (int64_t j = 0; j < N; ++j) g[j] = T(0);
      }
      L -= w_pos * std::log(d + eps);
      g[i] -= w_pos / (d + eps);
      return L;
    }
    case LOSS_XE_LOGIT: {
      T L = w_pos * d;
      if (w_all != T(0)) L += w_all * sum_lanes(y, N);
      for (int64_t j = 0; j < N; ++j) g[j] = w_all;
      g[i] += w_pos;
      return L;
    }
    case LOSS_BPR: {
      // -log sigmoid(u) = -min(u, 0) + log1p(exp(-|u|)), u = d - y_j;
      // dL/dy_j = sigmoid(-u), dL/dd = -sum_j sigmoid(-u).
      T* ex = w.u1;
      T* ml = w.u2;
      for (int64_t j = 0; j < N; ++j) {
        const T u = d - y[j];
        const T au = u < T(0) ? -u : u;
        const T e = exp_nonpos(-au);
        const T inv = T(1) / (T(1) + e);
        ex[j] = e;
        ml[j] = u < T(0) ? u : T(0);
        g[j] = u >= T(0) ? e * inv : inv;
      }
      T* lp = w.u3;
      for (int64_t j = 0; j < N; ++j) lp[j] = std::log1p(ex[j]);
      const T L = sum_lanes(lp, N) - sum_lanes(ml, N);
      g[i] -= sum_lanes(g, N);
      return L;
    }
    case LOSS_BPR_MAX: {
      if (N == 1) {  // no negatives: S = 0, loss -log(1e-24), no gradient
        g[0] = T(0);
        return -std::log(eps);
      }
      negative_softmax(N, i, w);
      const T* s = w.neg;
      T* sig = w.u1;
      T* dsig = w.u2;
      for (int64_t j = 0; j < N; ++j) sigmoid_pair(d - y[j], sig[j], dsig[j]);
      const T S1 = dot_lanes(s, sig, N);
      const T Q = dot_lanes(s, dsig, N);
      const T R = dot_sq_lanes(s, y, N);
      const T P = S1 + eps;
      const T inv_p = T(1) / P;
      const T reg = T(c.bpreg);
      // dL/dy_k = -(s_k/P)(sig_k - S1 - sig_k(1-sig_k)) + bpreg s_k (y_k^2 - R + 2 y_k)
      for (int64_t j = 0; j < N; ++j)
        g[j] = s[j] * (-(sig[j] - S1 - dsig[j]) * inv_p + reg * (y[j] * y[j] - R + T(2) * y[j]));
      g[i] -= Q * inv_p;  // dL/dd = -(1/P) sum_j s_j sig_j (1 - sig_j); s_i = 0
      return -std::log(P) + reg * R;
    }
    case LOSS_TOP1: {
      const T inv_n = T(1) / T(N);
      T* sa = w.u1;
      T* da = w.u2;
      T* sb = w.u3;
      T* db = w.u4;
      for (int64_t j = 0; j < N; ++j) {
        sigmoid_pair(y[j] - d, sa[j], da[j]);
        sigmoid_pair(y[j] * y[j], sb[j], db[j]);
      }
      for (int64_t j = 0; j < N; ++j) g[j] = inv_n * (da[j] + T(2) * y[j] * db[j]);
      T sd, dsd;
      sigmoid_pair(d * d, sd, dsd);
      g[i] -= inv_n * (sum_lanes(da, N) + T(2) * d * dsd);
      return inv_n * (sum_lanes(sa, N) + sum_lanes(sb, N) - sd);
    }
    case LOSS_TOP1_MAX: {
      if (N == 1) {  // no negatives: zero loss and gradient
        g[0] = T(0);
        return T(0);
      }
      negative_softmax(N, i, w);
      const T* s = w.neg;
      T* sa = w.u1;
      T* da = w.u2;
      T* sb = w.u3;
      T* db = w.u4;
      for (int64_t j = 0; j < N; ++j) {
        sigmoid_pair(y[j] - d, sa[j], da[j]);
        sigmoid_pair(y[j] * y[j], sb[j], db[j]);
      }
      const T Tot = dot_lanes(s, sa, N) + dot_lanes(s, sb, N);
      // dL/dy_k = s_k (a_k + b_k - T + a_k(1-a_k) + 2 y_k b_k(1-b_k))
      for (int64_t j = 0; j < N; ++j)
        g[j] = s[j] * (sa[j] + sb[j] - Tot + da[j] + T(2) * y[j] * db[j]);
      g[i] -= dot_lanes(s, da, N);  // dL/dd = -sum_j s_j a_j (1 - a_j)
      return Tot;
    }
    default:
      TORCH_CHECK(false, "fused_loss_fwd_bwd: unknown loss code ", c.loss);
  }
}

// out = (dL/dz) * scale from g = dL/dy (g may alias out).
template <typename T>
G4R_INLINE void activation_backward(const LossConfig& c, int64_t N, const RowWork<T>& w, const T* g,
                         T* out) {
  const T* z = w.z;
  const T* y = w.y;
  const T a = T(c.a), b = T(c.b), sc = T(c.scale);
  // Derivative at z == 0 taken from the negative side's formula where torch does the
  // same (relu 0, leaky a, elu a), so that gradients match the reference exactly.
  switch (c.act) {
    case ACT_RELU:
      for (int64_t j = 0; j < N; ++j) out[j] = z[j] > T(0) ? g[j] * sc : T(0);
      break;
    case ACT_TANH:
      for (int64_t j = 0; j < N; ++j) out[j] = g[j] * (T(1) - y[j] * y[j]) * sc;
      break;
    case ACT_LEAKY:
      for (int64_t j = 0; j < N; ++j) out[j] = (z[j] > T(0) ? g[j] : a * g[j]) * sc;
      break;
    case ACT_ELU:  // a exp(z) = y + a on the negative side
      for (int64_t j = 0; j < N; ++j) out[j] = (z[j] > T(0) ? g[j] : g[j] * (y[j] + a)) * sc;
      break;
    case ACT_SELU:  // a b exp(z) = y + a b on the negative side
      for (int64_t j = 0; j < N; ++j)
        out[j] = (z[j] > T(0) ? a * g[j] : g[j] * (y[j] + a * b)) * sc;
      break;
    case ACT_SOFTMAX: {  // dz_j = y_j (g_j - sum_k y_k g_k)
      const T t = dot_lanes(y, g, N);
      for (int64_t j = 0; j < N; ++j) out[j] = y[j] * (g[j] - t) * sc;
      break;
    }
    case ACT_SOFTMAX_LOGIT: {  // y = lse - z: dz_j = p_j sum_k g_k - g_j
      const T gs = sum_lanes(g, N);
      const T* p = w.prob;
      for (int64_t j = 0; j < N; ++j) out[j] = (p[j] * gs - g[j]) * sc;
      break;
    }
    default:
      for (int64_t j = 0; j < N; ++j) out[j] = g[j] * sc;
  }
}

template <typename T>
G4R_INLINE T fused_loss_row(const LossConfig& c, const T* x, const T* off, T* out, int64_t N, int64_t i,
                 RowWork<T>& w) {
  if (off != nullptr) {
    for (int64_t j = 0; j < N; ++j) w.z[j] = x[j] - off[j];
  } else {
    for (int64_t j = 0; j < N; ++j) w.z[j] = x[j];
  }
  if (!all_finite(w.z, N)) {
    // Non-finite scores: the loss is NaN (training must stop), so is the row's gradient.
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (int64_t j = 0; j < N; ++j) out[j] = nan;
    return nan;
  }
  activation_forward(c, N, w);
  const T L = loss_and_grad_y(c, N, i, w, out);
  activation_backward(c, N, w, out, out);
  return L;
}

template <typename T>
void fused_loss_rows(const LossConfig& c, const T* x, const T* off, T* out, int64_t N,
                     int64_t begin, int64_t end, RowWork<T>& w, double* row_loss) {
  for (int64_t i = begin; i < end; ++i)
    row_loss[i] = double(fused_loss_row<T>(c, x + i * N, off, out + i * N, N, i, w));
}

#ifdef G4R_AVX2_CLONE
__attribute__((target("avx2,fma"))) void fused_loss_rows_avx2(
    const LossConfig& c, const float* x, const float* off, float* out, int64_t N,
    int64_t begin, int64_t end, RowWork<float>& w, double* row_loss) {
  for (int64_t i = begin; i < end; ++i)
    row_loss[i] = double(fused_loss_row<float>(c, x + i * N, off, out + i * N, N, i, w));
}

bool cpu_has_avx2_fma() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
#endif

// Row loop for one dtype: float takes the AVX2 clone where the CPU has it.
inline void run_rows(const LossConfig& c, const double* x, const double* off, double* out,
                     int64_t N, int64_t begin, int64_t end, RowWork<double>& w,
                     double* row_loss) {
  fused_loss_rows<double>(c, x, off, out, N, begin, end, w, row_loss);
}

inline void run_rows(const LossConfig& c, const float* x, const float* off, float* out,
                     int64_t N, int64_t begin, int64_t end, RowWork<float>& w,
                     double* row_loss) {
#ifdef G4R_AVX2_CLONE
  if (cpu_has_avx2_fma()) {
    fused_loss_rows_avx2(c, x, off, out, N, begin, end, w, row_loss);
    return;
  }
#endif
  fused_loss_rows<float>(c, x, off, out, N, begin, end, w, row_loss);
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cpu(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  const int64_t B = scores.size(0), N = scores.size(1);
  auto dscores = at::empty_like(scores);
  auto loss_out = at::zeros({}, scores.options());
  if (B == 0) return {loss_out, dscores};
  const LossConfig cfg{loss, final_act, act_a, act_b, bpreg, smoothing, scale};
  const bool has_offset = col_offset.numel() > 0;
  std::vector<double> row_loss(B);
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "fused_loss_fwd_bwd_cpu", [&] {
    const scalar_t* x = scores.data_ptr<scalar_t>();
    const scalar_t* off = has_offset ? col_offset.data_ptr<scalar_t>() : nullptr;
    scalar_t* out = dscores.data_ptr<scalar_t>();
    // About 32k elements per task: small enough to split B = 32..256 rows over a
    // few threads, large enough to amortise the task start.
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(N, 1));
    at::parallel_for(0, B, grain, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> buf(RowWork<scalar_t>::kArrays * N);
      RowWork<scalar_t> w(buf, N);
      run_rows(cfg, x, off, out, N, begin, end, w, row_loss.data());
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
