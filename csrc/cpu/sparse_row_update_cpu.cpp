// Row-sparse optimiser step on the CPU.
//
// 1. Sort the (id, position) pairs: packed 64-bit keys (id << pos_bits | pos), built in
//    position order, then an LSD radix sort over the id bits only (2 passes for up to
//    2^22 ids); LSD passes are stable, so equal ids stay in position order.
// 2. Runs of equal ids are the unique rows. at::parallel_for over runs: each run sums
//    its gradient rows in original-position order (so the result does not depend on
//    the thread count: deterministic), then updates that one row of param and state.
//    The training loop's variant (sparse_row_update_with_bias_cpu_) also updates the
//    row's bias in the same pass, from the run's positions that are the bias's.
// Never touches a row not in ids and never allocates anything of size n x d.
#include "sparse_row_update_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <numeric>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define GRU4REC_X86 1
#endif

#include "common/code_tables.h"
#include "common/dispatch.h"
#include "common/enums.h"
#include "common/optimizers.h"  // adam_bias_correction
#include "cpu/table_ptrs_cpu.h"

namespace gru4rec {

namespace {

// ---------------------------------------------------------------------------------
// sqrt over a small buffer. A plain `std::sqrt` loop is not vectorised by GCC unless
// -fno-math-errno is given (it must keep errno for negative inputs) and the build
// flags are not ours to change, so x86 gets explicit SIMD (SSE2 is the x86-64
// baseline; AVX is used when the CPU has it). All paths are IEEE-exact sqrt.
// ---------------------------------------------------------------------------------
#ifdef GRU4REC_X86
__attribute__((target("avx"))) void sqrt_inplace_avx(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) _mm_store_ss(x + i, _mm_sqrt_ss(_mm_load_ss(x + i)));
}
__attribute__((target("avx"))) void sqrt_inplace_avx(double* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(x + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
  for (; i < n; ++i) x[i] = _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd(x[i])));
}
void sqrt_inplace_sse(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
  for (; i < n; ++i) _mm_store_ss(x + i, _mm_sqrt_ss(_mm_load_ss(x + i)));
}
void sqrt_inplace_sse(double* x, int64_t n) {
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) _mm_storeu_pd(x + i, _mm_sqrt_pd(_mm_loadu_pd(x + i)));
  for (; i < n; ++i) x[i] = _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd(x[i])));
}
const bool kHasAvx = __builtin_cpu_supports("avx");
#endif

template <typename T>
inline void sqrt_inplace(T* x, int64_t n) {
#ifdef GRU4REC_X86
  if (kHasAvx) {
    sqrt_inplace_avx(x, n);
  } else {
    sqrt_inplace_sse(x, n);
  }
#else
  for (int64_t i = 0; i < n; ++i) x[i] = std::sqrt(x[i]);
#endif
}

// ---------------------------------------------------------------------------------
// Sorting (id, position) pairs.
// ---------------------------------------------------------------------------------
int bits_for(uint64_t max_value) {  // bits needed to represent 0..max_value
  int b = 0;
  while (b < 64 && (max_value >> b) != 0) ++b;
  return b;
}

// Fills sorted_ids / sorted_pos with the ids of cat(ids_a, ids_b) (positions 0..Ma-1
// are ids_a, Ma.. are ids_b; neither is copied into one buffer) in ascending order,
// ties by position.
void sort_ids(const int64_t* ids_a, int64_t Ma, const int64_t* ids_b, int64_t Mb, int64_t n,
              std::vector<int64_t>& sorted_ids, std::vector<int64_t>& sorted_pos) {
  const int64_t M = Ma + Mb;
  auto id_at = [=](int64_t i) { return i < Ma ? ids_a[i] : ids_b[i - Ma]; };
  sorted_ids.resize(M);
  sorted_pos.resize(M);
  const int pos_bits = std::max(1, bits_for(static_cast<uint64_t>(M - 1)));
  const int id_bits = std::max(1, bits_for(static_cast<uint64_t>(std::max<int64_t>(n - 1, 0))));
  if (pos_bits + id_bits > 64) {  // cannot pack: comparison sort, stable by position
    std::iota(sorted_pos.begin(), sorted_pos.end(), 0);
    std::stable_sort(sorted_pos.begin(), sorted_pos.end(),
                     [&](int64_t a, int64_t b) { return id_at(a) < id_at(b); });
    for (int64_t i = 0; i < M; ++i) sorted_ids[i] = id_at(sorted_pos[i]);
    return;
  }
  // The keys start in position order and each LSD pass is stable, so sorting on the id
  // bits alone leaves equal ids in position order: the position bits need no pass. The
  // id bits are split into the fewest digits of at most 11 bits (50k items: 2 passes of
  // 8 bits, whose 257-entry counts are cheap beside ~2k keys).
  const int passes = (id_bits + 10) / 11;
  const int digit = (id_bits + passes - 1) / passes;
  const uint64_t mask = (uint64_t(1) << digit) - 1;
  std::vector<uint64_t> keys(M), tmp(M);
  for (int64_t i = 0; i < Ma; ++i)
    keys[i] = (static_cast<uint64_t>(ids_a[i]) << pos_bits) | static_cast<uint64_t>(i);
  for (int64_t i = Ma; i < M; ++i)
    keys[i] = (static_cast<uint64_t>(ids_b[i - Ma]) << pos_bits) | static_cast<uint64_t>(i);
  std::vector<int64_t> count(mask + 2);
  for (int shift = pos_bits; shift < pos_bits + id_bits; shift += digit) {
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < M; ++i) ++count[((keys[i] >> shift) & mask) + 1];
    for (size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
    for (int64_t i = 0; i < M; ++i) tmp[count[(keys[i] >> shift) & mask]++] = keys[i];
    keys.swap(tmp);
  }
  const uint64_t pos_mask = (pos_bits == 64) ? ~uint64_t(0) : ((uint64_t(1) << pos_bits) - 1);
  for (int64_t i = 0; i < M; ++i) {
    sorted_ids[i] = static_cast<int64_t>(keys[i] >> pos_bits);
    sorted_pos[i] = static_cast<int64_t>(keys[i] & pos_mask);
  }
}

// The first index of each run of equal sorted ids, then M: the unique rows.
std::vector<int64_t> run_starts_of(const std::vector<int64_t>& sorted_ids) {
  const int64_t M = static_cast<int64_t>(sorted_ids.size());
  std::vector<int64_t> starts;
  starts.reserve(M + 1);
  for (int64_t i = 0; i < M; ++i)
    if (i == 0 || sorted_ids[i] != sorted_ids[i - 1]) starts.push_back(i);
  starts.push_back(M);
  return starts;
}

// ---------------------------------------------------------------------------------
// One row's update. g holds the summed gradient; u and t are scratch rows. L2 (lmbd)
// is added to the adapted gradient u, outside the adaptive scaling, so it never enters
// an accumulator: delta = lr (u + lmbd p), as the original implementation does. Each loop is a plain
// elementwise pass the compiler vectorises; sqrt goes through sqrt_inplace.
// ---------------------------------------------------------------------------------
template <typename T>
struct Hyper {
  T lr, momentum, lmbd, eps, p1, p2;
};

#if defined(__GNUC__)
#define G4R_ROW_INLINE inline __attribute__((always_inline))
#else
#define G4R_ROW_INLINE inline
#endif

template <typename T, int64_t OPT, bool MOMENTUM>
G4R_ROW_INLINE void update_row(T* __restrict p, T* __restrict s1, T* __restrict s2, T* __restrict v,
                T* __restrict step, const T* __restrict g, T* __restrict u, T* __restrict t,
                int64_t d, const Hyper<T>& h) {
  if constexpr (OPT == OPT_SGD) {
    for (int64_t c = 0; c < d; ++c) u[c] = g[c];
  } else if constexpr (OPT == OPT_ADAGRAD) {
    for (int64_t c = 0; c < d; ++c) {
      const T a = s1[c] + g[c] * g[c];
      s1[c] = a;
      t[c] = a + h.eps;
    }
    sqrt_inplace(t, d);
    for (int64_t c = 0; c < d; ++c) u[c] = g[c] / t[c];
  } else if constexpr (OPT == OPT_RMSPROP) {
    const T rho = h.p1, one_m_rho = T(1) - h.p1;
    for (int64_t c = 0; c < d; ++c) {
      const T a = rho * s1[c] + one_m_rho * g[c] * g[c];
      s1[c] = a;
      t[c] = a + h.eps;
    }
    sqrt_inplace(t, d);
    for (int64_t c = 0; c < d; ++c) u[c] = g[c] / t[c];
  } else if constexpr (OPT == OPT_ADAM) {
    // Lazy Adam: the bias correction uses this row's own step count.
    const T b1 = h.p1, b2 = h.p2;
    const T steps = *step + T(1);
    *step = steps;
    const T bc1 = adam_bias_correction(b1, steps);
    const T bc2 = adam_bias_correction(b2, steps);
    for (int64_t c = 0; c < d; ++c) {
      const T m = b1 * s2[c] + (T(1) - b1) * g[c];
      const T a = b2 * s1[c] + (T(1) - b2) * g[c] * g[c];
      s2[c] = m;
      s1[c] = a;
      t[c] = a / bc2;
    }
    sqrt_inplace(t, d);
    for (int64_t c = 0; c < d; ++c) u[c] = (s2[c] / bc1) / (t[c] + h.eps);
  } else {  // OPT_ADADELTA
    const T rho = h.p1, one_m_rho = T(1) - h.p1;
    for (int64_t c = 0; c < d; ++c) {
      const T a = rho * s1[c] + one_m_rho * g[c] * g[c];
      s1[c] = a;
      t[c] = a + h.eps;
      u[c] = s2[c] + h.eps;
    }
    sqrt_inplace(t, d);
    sqrt_inplace(u, d);
    for (int64_t c = 0; c < d; ++c) {
      const T upd = g[c] * u[c] / t[c];
      u[c] = upd;
      s2[c] = rho * s2[c] + one_m_rho * upd * upd;
    }
  }
  if (h.lmbd != T(0)) {  // a branch, not + 0 * p: lmbd 0 stays bit-identical
    for (int64_t c = 0; c < d; ++c) u[c] += h.lmbd * p[c];
  }
  if constexpr (MOMENTUM) {
    for (int64_t c = 0; c < d; ++c) {
      const T vel = h.momentum * v[c] - h.lr * u[c];
      v[c] = vel;
      p[c] += vel;
    }
  } else {
    for (int64_t c = 0; c < d; ++c) p[c] -= h.lr * u[c];
  }
}

// How many runs ahead update_rows prefetches: enough to cover a DRAM miss with the
// ~100 ns of work per row at d ~ 100.
constexpr int64_t kPrefetchRuns = 8;

template <typename T, int RW = 1>  // RW: 1 for a row about to be written, 0 read only
inline void prefetch_row(const T* row, int64_t d) {
  const char* p = reinterpret_cast<const char*>(row);
  const int64_t bytes = d * static_cast<int64_t>(sizeof(T));
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, RW, 3);
}

// Everything one task of update_rows reads and writes: the d-wide table, and with
// BIAS its one-wide bias table, whose gradient of position p >= lead is bias.G[p - lead]
// (positions below lead are not the bias's).
template <typename T>
struct RowTask {
  TablePtrs<T> rows, bias;
  const int64_t *sorted_ids, *sorted_pos, *run_starts;
  int64_t d, lead;
  Hyper<T> h;
};

template <typename T>
inline void prefetch_table_row(const TablePtrs<T>& k, int64_t id, int64_t d) {
  const int64_t off = id * d;
  prefetch_row(k.P + off, d);
  if (k.S1) prefetch_row(k.S1 + off, d);
  if (k.S2) prefetch_row(k.S2 + off, d);
  if (k.V) prefetch_row(k.V + off, d);
}

// Runs [begin, end): sum each run's gradient rows, then update its row (and, with
// BIAS, its bias from the run's positions >= lead). Force-inlined into a baseline and
// an AVX2 copy (below), chosen at run time. scratch: 3 d + 3 elements.
template <typename T, int64_t OPT, bool MOMENTUM, bool BIAS>
G4R_ROW_INLINE void process_runs(const RowTask<T>& k, int64_t begin, int64_t end, T* scratch) {
  const int64_t d = k.d;
  T *g = scratch, *u = scratch + d, *t = scratch + 2 * d;
  T *bg = scratch + 3 * d, *bu = bg + 1, *bt = bg + 2;
  for (int64_t r = begin; r < end; ++r) {
    // The rows are scattered over tables far larger than the caches and each one is
    // a chain of dependent misses otherwise: ask for a later run's rows now.
    if (r + kPrefetchRuns < end) {
      const int64_t ahead = k.sorted_ids[k.run_starts[r + kPrefetchRuns]];
      prefetch_table_row(k.rows, ahead, d);
      if constexpr (BIAS) prefetch_table_row(k.bias, ahead, 1);
      // and its first gradient row: the gradient rows are read in sorted order, which
      // is no order in memory.
      prefetch_row<T, 0>(k.rows.G + k.sorted_pos[k.run_starts[r + kPrefetchRuns]] * d, d);
    }
    const int64_t first = k.run_starts[r], last = k.run_starts[r + 1];
    const int64_t id = k.sorted_ids[first];
    // Sum this id's gradient rows in ascending original position: a fixed order, so
    // the sum (and the whole op) is bit-identical whatever the thread split. A row
    // used once is read where it is (the sum of one row is that row).
    const T* gsum = k.rows.G + k.sorted_pos[first] * d;
    if (last - first > 1) {
      for (int64_t c = 0; c < d; ++c) g[c] = gsum[c];
      for (int64_t j = first + 1; j < last; ++j) {
        const T* gj = k.rows.G + k.sorted_pos[j] * d;
        for (int64_t c = 0; c < d; ++c) g[c] += gj[c];
      }
      gsum = g;
    }
    const int64_t off = id * d;
    const TablePtrs<T>& w = k.rows;
    update_row<T, OPT, MOMENTUM>(w.P + off, w.S1 ? w.S1 + off : nullptr,
                                 w.S2 ? w.S2 + off : nullptr, w.V ? w.V + off : nullptr,
                                 w.STEP ? w.STEP + id : nullptr, gsum, u, t, d, k.h);
    if constexpr (BIAS) {
      // The bias's own positions of this run, in the same ascending order; a row
      // that only lead positions touch has no bias gradient and no bias update.
      bool any = false;
      for (int64_t j = first; j < last; ++j) {
        const int64_t pos = k.sorted_pos[j];
        if (pos < k.lead) continue;
        const T gj = k.bias.G[pos - k.lead];
        *bg = any ? *bg + gj : gj;
        any = true;
      }
      if (any) {
        const TablePtrs<T>& b = k.bias;
        update_row<T, OPT, MOMENTUM>(b.P + id, b.S1 ? b.S1 + id : nullptr,
                                     b.S2 ? b.S2 + id : nullptr, b.V ? b.V + id : nullptr,
                                     b.STEP ? b.STEP + id : nullptr, bg, bu, bt, 1, k.h);
      }
    }
  }
}

template <typename T, int64_t OPT, bool MOMENTUM, bool BIAS>
void process_runs_base(const RowTask<T>& k, int64_t begin, int64_t end, T* scratch) {
  process_runs<T, OPT, MOMENTUM, BIAS>(k, begin, end, scratch);
}

#ifdef GRU4REC_X86
// AVX2 without FMA: twice the lanes, and no contraction, so every result stays
// bit-identical to the baseline copy (IEEE ops round the same at any width).
template <typename T, int64_t OPT, bool MOMENTUM, bool BIAS>
__attribute__((target("avx2"))) void process_runs_avx2(const RowTask<T>& k, int64_t begin,
                                                       int64_t end, T* scratch) {
  process_runs<T, OPT, MOMENTUM, BIAS>(k, begin, end, scratch);
}
// GRU4REC_FAST_CPU_BASELINE=1 forces the baseline copy (to compare, or to rule it out).
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && !std::getenv("GRU4REC_FAST_CPU_BASELINE");
#endif

// rows (and with BIAS, bias) updated at the sorted ids' runs; lead as in RowTask.
template <typename T, int64_t OPT, bool MOMENTUM, bool BIAS>
void update_rows(const SparseRowTable& rows, const SparseRowTable* bias, int64_t lead,
                 const std::vector<int64_t>& sorted_ids, const std::vector<int64_t>& sorted_pos,
                 const std::vector<int64_t>& run_starts, const Hyper<T>& h) {
  const int64_t d = rows.param.size(1);
  RowTask<T> k;
  k.rows = table_ptrs<T, OPT, MOMENTUM>(rows);
  if constexpr (BIAS) k.bias = table_ptrs<T, OPT, MOMENTUM>(*bias);
  k.sorted_ids = sorted_ids.data();
  k.sorted_pos = sorted_pos.data();
  k.run_starts = run_starts.data();
  k.d = d;
  k.lead = lead;
  k.h = h;
  const int64_t runs = static_cast<int64_t>(run_starts.size()) - 1;
  // ~16k elements' worth of work per task, counting a run's fixed cost (sort lookups,
  // prefetch, calls, the bias) as ~32 elements: the biases (d = 1, ~2k runs) still
  // split over the threads instead of running as one serial task.
  const int64_t grain = std::max<int64_t>(1, 16384 / (d + 32));
  at::parallel_for(0, runs, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(3 * d + 3);
#ifdef GRU4REC_X86
    if (kHasAvx2) {
      process_runs_avx2<T, OPT, MOMENTUM, BIAS>(k, begin, end, scratch.data());
      return;
    }
#endif
    process_runs_base<T, OPT, MOMENTUM, BIAS>(k, begin, end, scratch.data());
  });
}

template <bool BIAS>
void update_sorted(const SparseRowTable& rows, const SparseRowTable* bias, int64_t lead,
                   const std::vector<int64_t>& sorted_ids, const std::vector<int64_t>& sorted_pos,
                   int64_t optimizer, double lr, double momentum, double lmbd, double eps,
                   double p1, double p2) {
  const std::vector<int64_t> run_starts = run_starts_of(sorted_ids);
  AT_DISPATCH_FLOATING_TYPES(rows.param.scalar_type(), "sparse_row_update_cpu_", [&] {
    const Hyper<scalar_t> h{static_cast<scalar_t>(lr), static_cast<scalar_t>(momentum),
                            static_cast<scalar_t>(lmbd), static_cast<scalar_t>(eps),
                            static_cast<scalar_t>(p1), static_cast<scalar_t>(p2)};
    G4R_DISPATCH_OPTIMIZER(optimizer, momentum > 0.0, "sparse_row_update_", [&] {
      update_rows<scalar_t, kOpt, kMomentum, BIAS>(rows, bias, lead, sorted_ids, sorted_pos,
                                                   run_starts, h);
    });
  });
}

}  // namespace

// Arguments are checked in csrc/sparse_row_update.cpp (ids in range, states present,
// grads contiguous). On the CPU the result is always deterministic (the summation
// order is fixed by the sort), so `deterministic` changes nothing here.
void sparse_row_update_cpu_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool /*deterministic*/) {
  const int64_t M = ids.size(0), n = param.size(0);
  if (M == 0) return;
  std::vector<int64_t> sorted_ids, sorted_pos;
  sort_ids(ids.data_ptr<int64_t>(), M, nullptr, 0, n, sorted_ids, sorted_pos);
  const SparseRowTable rows{param, grads, state1, state2, velocity, step_count};
  update_sorted<false>(rows, nullptr, 0, sorted_ids, sorted_pos, optimizer, lr, momentum, lmbd,
                       eps, p1, p2);
}

void sparse_row_update_with_bias_cpu_(SparseRowTable& rows, SparseRowTable& bias, const at::Tensor& lead_ids, const at::Tensor& ids, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2) {
  const int64_t lead = lead_ids.defined() ? lead_ids.numel() : 0;
  const int64_t M = ids.numel();
  TORCH_CHECK(rows.param.dim() == 2 && bias.param.dim() == 2 && bias.param.size(1) == 1 &&
                  bias.param.size(0) == rows.param.size(0),
              "sparse_row_update_with_bias_cpu_: needs an n x d table and its n x 1 bias");
  TORCH_CHECK(rows.grads.is_contiguous() && rows.grads.numel() == (lead + M) * rows.param.size(1) &&
                  bias.grads.is_contiguous() && bias.grads.numel() == M,
              "sparse_row_update_with_bias_cpu_: needs contiguous gradients, ",
              lead + M, " rows for the table and ", M, " for the bias");
  if (lead + M == 0) return;
  const at::Tensor lead_c = lead > 0 ? lead_ids.contiguous() : at::Tensor();
  const at::Tensor ids_c = ids.contiguous();
  std::vector<int64_t> sorted_ids, sorted_pos;
  sort_ids(lead > 0 ? lead_c.data_ptr<int64_t>() : nullptr, lead, ids_c.data_ptr<int64_t>(), M,
           rows.param.size(0), sorted_ids, sorted_pos);
  update_sorted<true>(rows, &bias, lead, sorted_ids, sorted_pos, optimizer, lr, momentum, lmbd,
                      eps, p1, p2);
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/sparse_row_update.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "sparse_row_update.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "sparse_row_update_", run_sparse_row_update_, sparse_row_update_cpu_);
}
