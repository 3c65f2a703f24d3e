// CPU ranking counts, two paths sharing one exact arithmetic:
//  * the GEMM path (eval_rank_counts_gemm, the usual case, tie-breaking noise included):
//    tiles of scores from a BLAS GEMM and a vectorised counting pass; only items within
//    a rounding-error band of the target (widened by the noise) are rescored exactly
//    (see the comment before it);
//  * the panel path (eval_rank_counts_panels: non-monotone activations, reduced-
//    precision float32 matmuls): every score from the micro-kernel below, panel by
//    panel (C items x all rows).
// Neither builds a B x n score matrix.
//
// Exactness of ties. A row's target score must come out bit-identical to the same
// item's score inside the item loop, or "the target equals itself" and planted ties
// break. Every score here is produced by the one micro-kernel dot_block: each (row,
// item) dot product is a plain sequential sum over k = 0..d-1 (one accumulator per
// lane, vectorised across items, never across k), so its value does not depend on
// where the row or item sits in the block. The target scores are computed by that
// same kernel (a panel made of the target rows). FMA contraction could still make two
// code copies round differently, so the fast path is compiled for "avx2" WITHOUT "fma"
// (the compiler then has no fused instruction to contract into) and the default path
// for baseline x86-64, which has none either.
#include "eval_rank_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <ATen/Context.h>
#include <ATen/ops/mm.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "common/activations.h"
#include "common/random.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define G4R_X86_DISPATCH 1
#define G4R_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define G4R_X86_DISPATCH 0
#define G4R_ALWAYS_INLINE inline
#endif

namespace gru4rec {

namespace {

constexpr int kRows = 4;  // rows per micro block (layout of the packed H)

struct RankParams {
  int64_t B, d, n_cols, n_items;
  const int64_t* targets;
  const int64_t* cols;  // candidate ids, or nullptr for "all items in order"
  int64_t act;
  double act_a, act_b, noise_scale;
  bool noise;
  const uint64_t* row_keys;  // per-row hash prefix of the noise (when noise)
};

// out[r*C + c] = sum_k hp[k*R + r] * wp[k*C + c], k ascending from a zero accumulator.
template <typename T, int C>
G4R_ALWAYS_INLINE void dot_block(const T* __restrict__ hp, const T* __restrict__ wp, int64_t d,
                                 T* __restrict__ out) {
  T acc[kRows][C];
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = T(0);
  for (int64_t k = 0; k < d; ++k) {
    const T* w = wp + k * C;
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r) {
      const T h = hp[k * kRows + r];
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) acc[r][c] += h * w[c];
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < C; ++c) out[r * C + c] = acc[r][c];
}

// The final score of one (row, item): activation of dot + bias, then the tie-breaking
// noise. One function for targets and items alike.
template <typename T>
G4R_ALWAYS_INLINE T final_score(const RankParams& p, T dot, T bias, int64_t row, int64_t item) {
  T s = act_forward<T>(p.act, dot + bias, T(p.act_a), T(p.act_b));
  if (p.noise) {
    const T nz = T(p.noise_scale) * unit_uniform<T>(hash_uniform_bits(p.row_keys[row],
                                                                       static_cast<uint64_t>(item)));
    s = s + nz;
  }
  return s;
}

// Copy items ids[0..m) (m <= C) into a d x C panel; missing columns are zero.
template <typename T, int C>
G4R_ALWAYS_INLINE void pack_panel(const T* W, int64_t d, const int64_t* ids, int m, T* panel) {
  for (int c = m; c < C; ++c)
    for (int64_t k = 0; k < d; ++k) panel[k * C + c] = T(0);
  for (int c = 0; c < m; ++c) {
    const T* w = W + ids[c] * d;
    for (int64_t k = 0; k < d; ++k) panel[k * C + c] = w[k];
  }
}

// Target scores: for each block of kRows rows, a panel whose column r is the target
// item of row r; the diagonal of the block is then each row's target score.
template <typename T, int C>
G4R_ALWAYS_INLINE void target_scores_impl(const RankParams& p, const T* hpack, const T* W,
                                          const T* bias, T* tscore) {
  static_assert(C >= kRows, "a panel must hold one target per row of a block");
  std::vector<T> panel(static_cast<size_t>(p.d) * C);
  T out[kRows * C];
  const int64_t n_blocks = (p.B + kRows - 1) / kRows;
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    const int64_t r0 = blk * kRows;
    const int m = static_cast<int>(std::min<int64_t>(kRows, p.B - r0));
    pack_panel<T, C>(W, p.d, p.targets + r0, m, panel.data());
    dot_block<T, C>(hpack + blk * p.d * kRows, panel.data(), p.d, out);
    for (int r = 0; r < m; ++r) {
      const int64_t item = p.targets[r0 + r];
      tscore[r0 + r] = final_score<T>(p, out[r * C + r], bias[item], r0 + r, item);
    }
  }
}

// Compare one item's pre-activation score x (= dot + bias) with the row's target score
// t, for a compile-time activation ACT and no noise. The value compared is exactly
// act_forward(ACT, x), as for the target; only cases whose outcome is certain without
// evaluating exp/tanh are short-cut: the negative branch of elu/selu (a, b >= 0) is
// <= 0, tanh has the sign of x, so e.g. a negative x can never reach a positive target.
template <typename T, int ACT>
G4R_ALWAYS_INLINE void compare_no_noise(T x, T t, T a, T b, bool sign_shortcuts, bool* gt,
                                        bool* eq) {
  if constexpr (ACT == ACT_ELU || ACT == ACT_SELU || ACT == ACT_TANH) {
    if (sign_shortcuts) {
      if (x < T(0) && t > T(0)) {
        *gt = false;
        *eq = false;
        return;
      }
      if (ACT == ACT_TANH && x > T(0) && t < T(0)) {
        *gt = true;
        *eq = false;
        return;
      }
    }
  }
  const T s = act_forward<T>(ACT, x, a, b);
  *gt = s > t;
  *eq = s == t;
}

// Counts for panels [pan_begin, pan_end) of C columns each, added into greater/equal.
template <typename T, int C, int ACT>
G4R_ALWAYS_INLINE void count_panels_impl(const RankParams& p, const T* hpack, const T* W,
                                         const T* bias, const T* tscore, int64_t pan_begin,
                                         int64_t pan_end, int64_t* greater, int64_t* equal) {
  std::vector<T> panel(static_cast<size_t>(p.d) * C);
  int64_t ids[C];
  T bvals[C];
  T out[kRows * C];
  const int64_t n_blocks = (p.B + kRows - 1) / kRows;
  const T act_a = T(p.act_a), act_b = T(p.act_b);
  const bool shortcuts = p.act_a >= 0.0 && p.act_b >= 0.0;
  for (int64_t pan = pan_begin; pan < pan_end; ++pan) {
    const int64_t c0 = pan * C;
    const int m = static_cast<int>(std::min<int64_t>(C, p.n_cols - c0));
    for (int c = 0; c < m; ++c) {
      ids[c] = p.cols ? p.cols[c0 + c] : c0 + c;
      bvals[c] = bias[ids[c]];
    }
    pack_panel<T, C>(W, p.d, ids, m, panel.data());
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
      dot_block<T, C>(hpack + blk * p.d * kRows, panel.data(), p.d, out);
      const int64_t r0 = blk * kRows;
      const int rm = static_cast<int>(std::min<int64_t>(kRows, p.B - r0));
      for (int r = 0; r < rm; ++r) {
        const int64_t row = r0 + r;
        const T t = tscore[row];
        const int64_t tgt = p.targets[row];
        int64_t g = 0, e = 0;
        // The target's own column is skipped (it is counted once, at the end).
        if (p.noise) {
          for (int c = 0; c < m; ++c) {
            const T s = final_score<T>(p, out[r * C + c], bvals[c], row, ids[c]);
            const bool other = ids[c] != tgt;
            g += (s > t) & other;
            e += (s == t) & other;
          }
        } else {
          for (int c = 0; c < m; ++c) {
            bool gt, eq;
            compare_no_noise<T, ACT>(out[r * C + c] + bvals[c], t, act_a, act_b, shortcuts, &gt, &eq);
            const bool other = ids[c] != tgt;
            g += gt & other;
            e += eq & other;
          }
        }
        greater[row] += g;
        equal[row] += e;
      }
    }
  }
}

// Two compiled copies of the kernels: baseline x86-64 (SSE2, panels of 8 items) and
// AVX2 (panels of 16). Neither may use FMA; see the file comment.
template <typename T>
void target_scores_default(const RankParams& p, const T* hp, const T* W, const T* b, T* ts) {
  target_scores_impl<T, 8>(p, hp, W, b, ts);
}
// One instantiation per element-wise activation, so that the per-item compare has no
// run-time activation switch (linear/relu/leaky then vectorise).
#define G4R_ACT_SWITCH(C)                                                               \
  switch (p.act) {                                                                      \
    case ACT_RELU: count_panels_impl<T, C, ACT_RELU>(p, hp, W, b, ts, pb, pe, g, e); break; \
    case ACT_TANH: count_panels_impl<T, C, ACT_TANH>(p, hp, W, b, ts, pb, pe, g, e); break; \
    case ACT_LEAKY: count_panels_impl<T, C, ACT_LEAKY>(p, hp, W, b, ts, pb, pe, g, e); break; \
    case ACT_ELU: count_panels_impl<T, C, ACT_ELU>(p, hp, W, b, ts, pb, pe, g, e); break; \
    case ACT_SELU: count_panels_impl<T, C, ACT_SELU>(p, hp, W, b, ts, pb, pe, g, e); break; \
    case ACT_LINEAR: count_panels_impl<T, C, ACT_LINEAR>(p, hp, W, b, ts, pb, pe, g, e); break; \
    default: TORCH_CHECK(false, "eval_rank_counts: unknown activation code ", p.act);    \
  }

template <typename T>
void count_panels_default(const RankParams& p, const T* hp, const T* W, const T* b, const T* ts,
                          int64_t pb, int64_t pe, int64_t* g, int64_t* e) {
  G4R_ACT_SWITCH(8)
}
#if G4R_X86_DISPATCH
template <typename T>
__attribute__((target("avx2"))) void target_scores_avx2(const RankParams& p, const T* hp,
                                                        const T* W, const T* b, T* ts) {
  target_scores_impl<T, 16>(p, hp, W, b, ts);
}
template <typename T>
__attribute__((target("avx2"))) void count_panels_avx2(const RankParams& p, const T* hp,
                                                       const T* W, const T* b, const T* ts,
                                                       int64_t pb, int64_t pe, int64_t* g,
                                                       int64_t* e) {
  G4R_ACT_SWITCH(16)
}
bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

// The exact path: every score from dot_block (see the file comment). Used for
// non-monotone activations and float32 GEMMs allowed to run in reduced precision.
template <typename T>
void eval_rank_counts_panels(const RankParams& p, const at::Tensor& H, const at::Tensor& W,
                             const at::Tensor& b, int64_t tile_size, int64_t* greater,
                             int64_t* equal) {
  const int64_t B = p.B, d = p.d;
  const int64_t n_blocks = (B + kRows - 1) / kRows;
  // H packed block by block as [block][k][r] (zero rows pad the last block), so the
  // micro-kernel reads its kRows values of step k contiguously.
  std::vector<T> hpack(static_cast<size_t>(n_blocks * kRows * d), T(0));
  const T* h = H.data_ptr<T>();
  for (int64_t i = 0; i < B; ++i)
    for (int64_t k = 0; k < d; ++k) hpack[(i / kRows) * d * kRows + k * kRows + i % kRows] = h[i * d + k];
  const T* w = W.data_ptr<T>();
  const T* bias = b.data_ptr<T>();

  bool avx2 = false;
#if G4R_X86_DISPATCH
  avx2 = cpu_has_avx2();
#endif
  const int C = avx2 ? 16 : 8;

  std::vector<T> tscore(B);
#if G4R_X86_DISPATCH
  if (avx2) target_scores_avx2<T>(p, hpack.data(), w, bias, tscore.data());
  else
#endif
    target_scores_default<T>(p, hpack.data(), w, bias, tscore.data());

  const int64_t n_panels = (p.n_cols + C - 1) / C;
  const int64_t grain = std::max<int64_t>(1, tile_size / C);
  std::mutex merge;
  at::parallel_for(0, n_panels, grain, [&](int64_t pb, int64_t pe) {
    // Per-task counts, merged under a lock: integer sums, so the order of merging
    // cannot change the result.
    std::vector<int64_t> g(B, 0), e(B, 0);
#if G4R_X86_DISPATCH
    if (avx2) count_panels_avx2<T>(p, hpack.data(), w, bias, tscore.data(), pb, pe, g.data(), e.data());
    else
#endif
      count_panels_default<T>(p, hpack.data(), w, bias, tscore.data(), pb, pe, g.data(), e.data());
    std::lock_guard<std::mutex> lock(merge);
    for (int64_t i = 0; i < B; ++i) {
      greater[i] += g[i];
      equal[i] += e[i];
    }
  });
}

// ---------------------------------------------------------------------------------
// The GEMM path: the scores come from BLAS GEMM tiles, the decisions from the exact
// arithmetic above.
//
// Per task, tiles of `width` items: S = H (B x d) . W_tile^T by at::mm (MKL), then a
// counting pass over S with the bias added. A GEMM sums in its own order (and MKL's
// order may depend on where a column sits in the tile), so its value for (row, item)
// may differ from dot_block's in the last bits. The counts must not differ: planted
// ties and duplicate rows must tie, and results must not depend on tiling or threads.
// So every decision is the one the exact path makes:
//  * the target's score t = act(x_t), x_t = dot + bias in the exact arithmetic
//    (exact_dot: the same sequential sum as dot_block);
//  * the activation is monotone, so the items tying with t are those whose exact
//    pre-activation lies in an interval [lo, hi] (bisection over the floats), the
//    greater ones are those above hi;
//  * any order of summing a length-d dot product is within gamma_{d+2} (sum |h_k w_k|
//    + |b|) of the true value, and sum |h_k w_k| <= |h| |w| (Cauchy-Schwarz), so the
//    GEMM value is within delta = 2 gamma_{d+2} (|h| max|w| + max|b|) of the exact one:
//    an item whose GEMM value is beyond hi + delta is greater, below lo - delta is
//    smaller, strictly inside (lo + delta, hi - delta) ties; only the rest (a band of
//    width ~2 delta, about 1e-5 of the score scale in float32) is rescored exactly.
//  * with tie-breaking noise (s = fl(act(x) + nz), 0 <= nz <= ns) no item is sure to
//    tie: those with act(x) > t are greater, those with fl(act(x) + ns) < t smaller,
//    and the band between (score width ~ns below t, plus delta) is rescored exactly,
//    each item with its own noise. A noise far above the score spread puts most items
//    in the band: still exact, only slower.
// Why not read the target's score from the GEMM output: a copy of the target's row in
// another column (or another tile) need not get the same bits from MKL, so the band
// would be needed anyway; computing t exactly also makes the counts identical to the
// exact path's, bit for bit, which the tests check.

// Scores per GEMM tile (B x width): 512 KiB of float32, about half an L2 cache; and
// the tile's rows of W (width x d) at most 256 KiB of float32, so that small batches
// too read the tile from L2 after the norm pass brought it in.
constexpr int64_t kGemmTileScores = int64_t(1) << 17;
constexpr int64_t kGemmTileWeights = int64_t(1) << 16;

// The exact dot product: k ascending from a zero accumulator, one rounding per product
// and per sum, as dot_block. Not inlined and compiled for the baseline ISA (no FMA to
// contract into), so every caller gets the same bits.
template <typename T>
__attribute__((noinline)) T exact_dot(const T* __restrict__ h, const T* __restrict__ w, int64_t d) {
  T acc = T(0);
  for (int64_t k = 0; k < d; ++k) acc += h[k] * w[k];
  return acc;
}

// Order-preserving integer keys of floats (-0.0 and +0.0 adjacent), for bisection.
template <typename T>
struct FloatKey;
template <>
struct FloatKey<float> {
  using I = int32_t;
  using U = uint32_t;
};
template <>
struct FloatKey<double> {
  using I = int64_t;
  using U = uint64_t;
};

template <typename T>
typename FloatKey<T>::I float_key(T x) {
  using I = typename FloatKey<T>::I;
  I i;
  std::memcpy(&i, &x, sizeof i);
  return i >= 0 ? i : ~(i & std::numeric_limits<I>::max());
}

template <typename T>
T key_float(typename FloatKey<T>::I k) {
  using I = typename FloatKey<T>::I;
  const I i = k >= 0 ? k : ((~k) | std::numeric_limits<I>::min());
  T x;
  std::memcpy(&x, &i, sizeof x);
  return x;
}

// Middle of two keys lo < hi, without signed overflow.
template <typename T>
typename FloatKey<T>::I key_mid(typename FloatKey<T>::I lo, typename FloatKey<T>::I hi) {
  using I = typename FloatKey<T>::I;
  using U = typename FloatKey<T>::U;
  return static_cast<I>(static_cast<U>(lo) + (static_cast<U>(hi) - static_cast<U>(lo)) / 2);
}

template <typename T>
bool keys_apart(typename FloatKey<T>::I lo, typename FloatKey<T>::I hi) {
  using U = typename FloatKey<T>::U;
  return static_cast<U>(hi) - static_cast<U>(lo) > 1;
}

// The largest finite x with act(x) <= t (+inf if every finite x qualifies, -inf if
// none does), for a non-decreasing act.
template <typename T>
T largest_at_most(int64_t act, T t, T a, T b) {
  const T big = std::numeric_limits<T>::max(), inf = std::numeric_limits<T>::infinity();
  if (act_forward<T>(act, big, a, b) <= t) return inf;
  if (!(act_forward<T>(act, -big, a, b) <= t)) return -inf;
  auto lo = float_key<T>(-big), hi = float_key<T>(big);  // act(lo) <= t < act(hi)
  while (keys_apart<T>(lo, hi)) {
    const auto mid = key_mid<T>(lo, hi);
    if (act_forward<T>(act, key_float<T>(mid), a, b) <= t) lo = mid;
    else hi = mid;
  }
  return key_float<T>(lo);
}

// The smallest finite x with f(x) >= t (-inf if every finite x qualifies, +inf if
// none does), for a non-decreasing f.
template <typename T, typename F>
T smallest_with_at_least(F f, T t) {
  const T big = std::numeric_limits<T>::max(), inf = std::numeric_limits<T>::infinity();
  if (f(-big) >= t) return -inf;
  if (!(f(big) >= t)) return inf;
  auto lo = float_key<T>(-big), hi = float_key<T>(big);  // f(lo) < t <= f(hi)
  while (keys_apart<T>(lo, hi)) {
    const auto mid = key_mid<T>(lo, hi);
    if (f(key_float<T>(mid)) >= t) hi = mid;
    else lo = mid;
  }
  return key_float<T>(hi);
}

// The smallest finite x with act(x) >= t, as above, for a non-decreasing act.
template <typename T>
T smallest_at_least(int64_t act, T t, T a, T b) {
  return smallest_with_at_least<T>([&](T x) { return act_forward<T>(act, x, a, b); }, t);
}

// Activations that are non-decreasing for these parameters (what the band needs).
inline bool is_monotone_activation(int64_t act, double a, double b) {
  switch (act) {
    case ACT_LINEAR:
    case ACT_RELU:
    case ACT_TANH: return true;
    case ACT_LEAKY:
    case ACT_ELU: return a >= 0.0;
    case ACT_SELU: return a >= 0.0 && b >= 0.0;
    default: return false;
  }
}

// A double threshold rounded outward to T (so that comparing in T never decides a
// case the double comparison would not).
template <typename T>
T round_up_to(double v) {
  T f = static_cast<T>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, std::numeric_limits<T>::infinity());
  return f;
}
template <typename T>
T round_down_to(double v) {
  T f = static_cast<T>(v);
  if (static_cast<double>(f) > v) f = std::nextafter(f, -std::numeric_limits<T>::infinity());
  return f;
}

// |x|^2 in double. Only an upper bound feeds on it (with 1% to spare), so the sum may
// be reordered (vectorised).
template <typename T>
double squared_norm(const T* x, int64_t d) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < d; ++k) s += static_cast<double>(x[k]) * static_cast<double>(x[k]);
  return s;
}

// The largest row norm and |bias| of a tile of W. For small batches this pass costs as
// much as the GEMM (both read the tile once), hence the AVX2 copy.
template <typename T>
G4R_ALWAYS_INLINE void tile_maxima_impl(const T* wt, const T* bt, int64_t m, int64_t d,
                                        double* w_max, double* b_max) {
  double wm = 0.0, bm = 0.0;
  for (int64_t c = 0; c < m; ++c) {
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < d; ++k) s += static_cast<double>(wt[c * d + k]) * static_cast<double>(wt[c * d + k]);
    wm = std::max(wm, s);
    bm = std::max(bm, std::fabs(static_cast<double>(bt[c])));
  }
  *w_max = std::sqrt(wm);
  *b_max = bm;
}
template <typename T>
void tile_maxima_default(const T* wt, const T* bt, int64_t m, int64_t d, double* w_max,
                         double* b_max) {
  tile_maxima_impl<T>(wt, bt, m, d, w_max, b_max);
}
#if G4R_X86_DISPATCH
template <typename T>
__attribute__((target("avx2"))) void tile_maxima_avx2(const T* wt, const T* bt, int64_t m,
                                                      int64_t d, double* w_max, double* b_max) {
  tile_maxima_impl<T>(wt, bt, m, d, w_max, b_max);
}
#endif

// Per row: the target's exact score and its tie interval in pre-activation space.
struct BandRow {
  double h_norm;   // |h_r|
  double lo, hi;   // exact pre-activations x whose score can equal t lie in [lo, hi]
  bool exact_only; // non-finite values: decide every item exactly
  bool no_sure_ties; // noise: no x is sure to tie, every item in [lo, hi] is rescored
};

// Thresholds of one row in one tile: x > gt: greater; x < lt: smaller;
// eq_lo < x < eq_hi: tie; anything else is rescored.
template <typename T>
struct BandThresholds {
  T gt, lt, eq_lo, eq_hi;
};

template <typename T>
BandThresholds<T> band_thresholds(const BandRow& row, double delta) {
  const double u = std::numeric_limits<T>::epsilon();
  // A few ulps of lo / hi on top of delta: room for the threshold arithmetic and for an
  // activation whose library implementation is monotone only up to an ulp.
  const double s_lo = std::isfinite(row.lo) ? delta + 16.0 * u * std::fabs(row.lo) : 0.0;
  const double s_hi = std::isfinite(row.hi) ? delta + 16.0 * u * std::fabs(row.hi) : 0.0;
  BandThresholds<T> th;
  th.gt = round_up_to<T>(row.hi + s_hi);
  th.lt = round_down_to<T>(row.lo - s_lo);
  th.eq_lo = round_up_to<T>(row.lo + s_lo);
  th.eq_hi = round_down_to<T>(row.hi - s_hi);
  if (row.no_sure_ties) {  // an empty interval: (inf, -inf)
    th.eq_lo = std::numeric_limits<T>::infinity();
    th.eq_hi = -std::numeric_limits<T>::infinity();
  }
  return th;
}

// The vectorised pass: items above gt, and items in [lt, gt] (to look at again).
template <typename T>
G4R_ALWAYS_INLINE void count_band_impl(const T* __restrict__ s, const T* __restrict__ bias,
                                       int64_t m, T gt, T lt, int64_t* n_gt, int64_t* n_band) {
  int32_t g = 0, ge = 0;
  for (int64_t c = 0; c < m; ++c) {
    const T x = s[c] + bias[c];
    g += x > gt;
    ge += x >= lt;
  }
  *n_gt = g;
  *n_band = ge - g;
}
template <typename T>
void count_band_default(const T* s, const T* bias, int64_t m, T gt, T lt, int64_t* n_gt,
                        int64_t* n_band) {
  count_band_impl<T>(s, bias, m, gt, lt, n_gt, n_band);
}
#if G4R_X86_DISPATCH
template <typename T>
__attribute__((target("avx2"))) void count_band_avx2(const T* s, const T* bias, int64_t m, T gt,
                                                     T lt, int64_t* n_gt, int64_t* n_band) {
  count_band_impl<T>(s, bias, m, gt, lt, n_gt, n_band);
}
#endif

// The exact decision for one (row, item): final_score (act of exact dot + bias, plus
// the noise) against t, the panel path's arithmetic.
template <typename T>
G4R_ALWAYS_INLINE void exact_compare(const RankParams& p, const T* h, const T* W, const T* bias,
                                     int64_t row, int64_t item, T t, int64_t* g, int64_t* e) {
  const T s = final_score<T>(p, exact_dot<T>(h, W + item * p.d, p.d), bias[item], row, item);
  *g += s > t;
  *e += s == t;
}

// Whether the GEMM path may run: monotone activation, a noise scale finite in T, and
// for float32 a GEMM that really runs in float32 (no bf16/tf32 shortcut allowed by the
// user, which would break the error bound).
bool gemm_path_applies(const RankParams& p, at::ScalarType dtype) {
  if (!is_monotone_activation(p.act, p.act_a, p.act_b)) return false;
  if (p.noise && !(dtype == at::kFloat ? std::isfinite(static_cast<float>(p.noise_scale))
                                       : std::isfinite(p.noise_scale)))
    return false;
  if (dtype == at::kFloat) {
    auto& ctx = at::globalContext();
    if (ctx.float32MatmulPrecision() != at::Float32MatmulPrecision::HIGHEST) return false;
    const auto mk = ctx.float32Precision(at::Float32Backend::MKLDNN, at::Float32Op::MATMUL);
    if (mk == at::Float32Precision::BF16 || mk == at::Float32Precision::TF32) return false;
  }
  return true;
}

template <typename T>
void eval_rank_counts_gemm(const RankParams& p, const at::Tensor& H, const at::Tensor& W,
                           const at::Tensor& b, int64_t tile_size, int64_t* greater,
                           int64_t* equal) {
  const int64_t B = p.B, d = p.d;
  const T* h = H.data_ptr<T>();
  const T* w = W.data_ptr<T>();
  const T* bias = b.data_ptr<T>();
  const T act_a = T(p.act_a), act_b = T(p.act_b);
  const double u = std::numeric_limits<T>::epsilon() / 2;  // unit roundoff
  const double gamma = (d + 2) * u / (1.0 - (d + 2) * u);
  // 2 gamma for the two dot products (GEMM and exact), 1% for the double arithmetic
  // of the norms; the absolute term covers underflow (flush-to-zero included).
  const double delta_scale = 2.02 * gamma;
  const double delta_abs = 4.0 * (d + 2) * static_cast<double>(std::numeric_limits<T>::min());

  // The noise of an item's score s = fl(act(x) + nz) lies in nz = fl(ns * u) in [0, ns]
  // (u in [0, 1), rounding is monotone), so act(x) <= s <= fl(act(x) + ns).
  const T ns = T(p.noise_scale);

  // Targets: exact scores (with their noise, as the panel path) and the interval of
  // pre-activations whose score can equal t.
  std::vector<T> tscore(B);
  std::vector<BandRow> rows(B);
  for (int64_t r = 0; r < B; ++r) {
    const T* hr = h + r * d;
    const double hn = squared_norm(hr, d);
    const int64_t tgt = p.targets[r];
    const T dot = exact_dot<T>(hr, w + tgt * d, d);
    const T xt = dot + bias[tgt];
    const T t = final_score<T>(p, dot, bias[tgt], r, tgt);
    tscore[r] = t;
    BandRow& br = rows[r];
    br.h_norm = std::sqrt(hn);
    br.exact_only = !(std::isfinite(br.h_norm) && std::isfinite(xt) && std::isfinite(t));
    br.no_sure_ties = p.noise;
    if (br.exact_only) continue;
    // Greater for sure: act(x) > t (then s >= act(x) > t), i.e. x above the largest x
    // with act(x) <= t; the target's xt is not (act(xt) <= t).
    br.hi = std::max<double>(largest_at_most<T>(p.act, t, act_a, act_b), xt);
    if (p.noise) {
      // Smaller for sure: fl(act(x) + ns) < t (then s <= fl(act(x) + ns) < t), i.e. x
      // below the smallest x with fl(act(x) + ns) >= t; xt is not below it.
      br.lo = std::min<double>(
          smallest_with_at_least<T>([&](T x) { return act_forward<T>(p.act, x, act_a, act_b) + ns; }, t),
          xt);
    } else {
      br.lo = std::min<double>(smallest_at_least<T>(p.act, t, act_a, act_b), xt);
    }
  }

  const int64_t width_cap = std::min(kGemmTileScores / B, kGemmTileWeights / std::max<int64_t>(d, 1));
  const int64_t width = std::max<int64_t>(
      1, std::min<int64_t>(p.n_cols, std::clamp<int64_t>(width_cap / 16 * 16, 64, 4096)));
  const int64_t n_tiles = (p.n_cols + width - 1) / width;
  const int64_t grain = std::max<int64_t>(1, tile_size / width);
  bool avx2 = false;
#if G4R_X86_DISPATCH
  avx2 = cpu_has_avx2();
#endif
  std::mutex merge;
  at::parallel_for(0, n_tiles, grain, [&](int64_t t_begin, int64_t t_end) {
    std::vector<int64_t> g(B, 0), e(B, 0);
    std::vector<T> scores(static_cast<size_t>(B * width));
    std::vector<T> wbuf(p.cols ? static_cast<size_t>(width * d) : 0);
    std::vector<T> bbuf(p.cols ? width : 0);
    for (int64_t tile = t_begin; tile < t_end; ++tile) {
      const int64_t c0 = tile * width;
      const int64_t m = std::min(width, p.n_cols - c0);
      // The tile's rows of W (gathered for candidates) and their largest norm.
      const T* wt;
      const T* bt;
      if (p.cols) {
        for (int64_t c = 0; c < m; ++c) {
          std::memcpy(wbuf.data() + c * d, w + p.cols[c0 + c] * d, sizeof(T) * d);
          bbuf[c] = bias[p.cols[c0 + c]];
        }
        wt = wbuf.data();
        bt = bbuf.data();
      } else {
        wt = w + c0 * d;
        bt = bias + c0;
      }
      double w_max, b_max;
#if G4R_X86_DISPATCH
      if (avx2) tile_maxima_avx2<T>(wt, bt, m, d, &w_max, &b_max);
      else
#endif
        tile_maxima_default<T>(wt, bt, m, d, &w_max, &b_max);
      const bool tile_exact = !(std::isfinite(w_max) && std::isfinite(b_max));

      // Inside a parallel region at::mm runs on this thread only.
      at::Tensor S = at::from_blob(scores.data(), {B, m}, H.options());
      const at::Tensor Wt = at::from_blob(const_cast<T*>(wt), {m, d}, W.options());
      at::mm_out(S, H, Wt.t());
      const T* sp = scores.data();

      for (int64_t r = 0; r < B; ++r) {
        const BandRow& br = rows[r];
        const T* s = sp + r * m;
        const T* hr = h + r * d;
        const int64_t tgt = p.targets[r];
        const T t = tscore[r];
        auto id_of = [&](int64_t c) { return p.cols ? p.cols[c0 + c] : c0 + c; };
        if (br.exact_only || tile_exact) {
          for (int64_t c = 0; c < m; ++c) {
            const int64_t id = id_of(c);
            if (id != tgt) exact_compare<T>(p, hr, w, bias, r, id, t, &g[r], &e[r]);
          }
          continue;
        }
        const double delta = delta_scale * (br.h_norm * w_max + b_max) + delta_abs;
        const BandThresholds<T> th = band_thresholds<T>(br, delta);
        int64_t n_gt, n_band;
#if G4R_X86_DISPATCH
        if (avx2) count_band_avx2<T>(s, bt, m, th.gt, th.lt, &n_gt, &n_band);
        else
#endif
          count_band_default<T>(s, bt, m, th.gt, th.lt, &n_gt, &n_band);
        g[r] += n_gt;
        if (n_band == 0) continue;
        // The band: the target's own column (skipped, counted once at the end), its
        // ties and near-ties.
        for (int64_t c = 0; c < m; ++c) {
          const T x = s[c] + bt[c];
          if (!(x >= th.lt && x <= th.gt)) continue;
          const int64_t id = id_of(c);
          if (id == tgt) continue;
          if (x > th.eq_lo && x < th.eq_hi) ++e[r];
          else exact_compare<T>(p, hr, w, bias, r, id, t, &g[r], &e[r]);
        }
      }
    }
    std::lock_guard<std::mutex> lock(merge);
    for (int64_t i = 0; i < B; ++i) {
      greater[i] += g[i];
      equal[i] += e[i];
    }
  });
}

template <typename T>
void eval_rank_counts_typed(const RankParams& p, const at::Tensor& H, const at::Tensor& W,
                            const at::Tensor& b, int64_t tile_size, int64_t* greater,
                            int64_t* equal) {
  if (gemm_path_applies(p, H.scalar_type()))
    eval_rank_counts_gemm<T>(p, H, W, b, tile_size, greater, equal);
  else
    eval_rank_counts_panels<T>(p, H, W, b, tile_size, greater, equal);
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> eval_rank_counts_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  const int64_t B = H.size(0);
  at::Tensor greater = at::zeros({B}, targets.options());
  at::Tensor equal = at::zeros({B}, targets.options());
  if (B == 0) return {greater, equal};

  RankParams p;
  p.B = B;
  p.d = H.size(1);
  p.n_items = W.size(0);
  p.targets = targets.data_ptr<int64_t>();
  p.cols = candidates.numel() > 0 ? candidates.data_ptr<int64_t>() : nullptr;
  p.n_cols = candidates.numel() > 0 ? candidates.numel() : p.n_items;
  p.act = final_act;
  p.act_a = act_a;
  p.act_b = act_b;
  p.noise_scale = noise_scale;
  p.noise = noise_scale > 0.0;
  std::vector<uint64_t> row_keys(p.noise ? B : 0);
  for (size_t i = 0; i < row_keys.size(); ++i)
    row_keys[i] = hash_row_key(static_cast<uint64_t>(noise_seed), i);
  p.row_keys = row_keys.data();

  int64_t* g = greater.data_ptr<int64_t>();
  int64_t* e = equal.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "eval_rank_counts_cpu", [&] {
    eval_rank_counts_typed<scalar_t>(p, H, W, b, tile_size, g, e);
  });
  // The target counts itself once in n_equal (its own column was skipped above,
  // whether or not it is among the candidates).
  equal.add_(1);
  return {greater, equal};
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/eval_rank.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "eval_rank.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "eval_rank_counts", run_eval_rank_counts, eval_rank_counts_cpu);
}
