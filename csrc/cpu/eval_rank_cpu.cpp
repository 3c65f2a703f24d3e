// CPU ranking counts: scores are produced panel by panel (C items x all rows) and
// compared at once, so no B x n score matrix ever exists.
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

#include <algorithm>
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

template <typename T>
void eval_rank_counts_typed(const RankParams& p, const at::Tensor& H, const at::Tensor& W,
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
