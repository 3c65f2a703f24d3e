// Row-sparse optimiser step on the CPU.
//
// 1. Sort the (id, position) pairs: an LSD radix sort of packed 64-bit keys
//    (id << pos_bits | pos) on only the bits that n and M need (3 passes of 11 bits for
//    1M ids x 2k positions). Packing the position in the low bits makes the order
//    (id, position), so the sort is stable by construction.
// 2. Runs of equal ids are the unique rows. at::parallel_for over runs: each run sums
//    its gradient rows in original-position order (so the result does not depend on
//    the thread count: deterministic), then updates that one row of param and state.
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

// Fills sorted_ids / sorted_pos with the ids in ascending order, ties by position.
void sort_ids(const int64_t* ids, int64_t M, int64_t n, std::vector<int64_t>& sorted_ids,
              std::vector<int64_t>& sorted_pos) {
  sorted_ids.resize(M);
  sorted_pos.resize(M);
  const int pos_bits = std::max(1, bits_for(static_cast<uint64_t>(M - 1)));
  const int id_bits = std::max(1, bits_for(static_cast<uint64_t>(std::max<int64_t>(n - 1, 0))));
  if (pos_bits + id_bits > 64) {  // cannot pack: comparison sort, stable by position
    std::iota(sorted_pos.begin(), sorted_pos.end(), 0);
    std::stable_sort(sorted_pos.begin(), sorted_pos.end(),
                     [ids](int64_t a, int64_t b) { return ids[a] < ids[b]; });
    for (int64_t i = 0; i < M; ++i) sorted_ids[i] = ids[sorted_pos[i]];
    return;
  }
  constexpr int kDigit = 11;
  constexpr uint64_t kMask = (1u << kDigit) - 1;
  const int total_bits = pos_bits + id_bits;
  std::vector<uint64_t> keys(M), tmp(M);
  for (int64_t i = 0; i < M; ++i)
    keys[i] = (static_cast<uint64_t>(ids[i]) << pos_bits) | static_cast<uint64_t>(i);
  std::vector<int64_t> count(kMask + 2);
  for (int shift = 0; shift < total_bits; shift += kDigit) {
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < M; ++i) ++count[((keys[i] >> shift) & kMask) + 1];
    for (size_t k = 1; k < count.size(); ++k) count[k] += count[k - 1];
    for (int64_t i = 0; i < M; ++i) tmp[count[(keys[i] >> shift) & kMask]++] = keys[i];
    keys.swap(tmp);
  }
  const uint64_t pos_mask = (pos_bits == 64) ? ~uint64_t(0) : ((uint64_t(1) << pos_bits) - 1);
  for (int64_t i = 0; i < M; ++i) {
    sorted_ids[i] = static_cast<int64_t>(keys[i] >> pos_bits);
    sorted_pos[i] = static_cast<int64_t>(keys[i] & pos_mask);
  }
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
                T* __restrict step, T* __restrict g, T* __restrict u, T* __restrict t,
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
    const T bc1 = T(1) - static_cast<T>(std::pow(static_cast<double>(b1), static_cast<double>(steps)));
    const T bc2 = T(1) - static_cast<T>(std::pow(static_cast<double>(b2), static_cast<double>(steps)));
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

template <typename T>
inline void prefetch_row(const T* row, int64_t d) {
  const char* p = reinterpret_cast<const char*>(row);
  const int64_t bytes = d * static_cast<int64_t>(sizeof(T));
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 1, 3);
}

// Everything one task of update_rows reads and writes.
template <typename T>
struct RowTask {
  T *P, *S1, *S2, *V, *STEP;
  const T* G;
  const int64_t *sorted_ids, *sorted_pos, *run_starts;
  int64_t d;
  Hyper<T> h;
};

// Runs [begin, end): sum each run's gradient rows, then update its row. Force-inlined
// into a baseline and an AVX2 copy (below), chosen at run time.
template <typename T, int64_t OPT, bool MOMENTUM>
G4R_ROW_INLINE void process_runs(const RowTask<T>& k, int64_t begin, int64_t end, T* g, T* u,
                                 T* t) {
  const int64_t d = k.d;
  for (int64_t r = begin; r < end; ++r) {
    // The rows are scattered over tables far larger than the caches and each one is
    // a chain of dependent misses otherwise: ask for a later run's rows now.
    if (r + kPrefetchRuns < end) {
      const int64_t ahead = k.sorted_ids[k.run_starts[r + kPrefetchRuns]] * d;
      prefetch_row(k.P + ahead, d);
      if (k.S1) prefetch_row(k.S1 + ahead, d);
      if (k.S2) prefetch_row(k.S2 + ahead, d);
      if (k.V) prefetch_row(k.V + ahead, d);
    }
    const int64_t first = k.run_starts[r], last = k.run_starts[r + 1];
    const int64_t id = k.sorted_ids[first];
    // Sum this id's gradient rows in ascending original position: a fixed order, so
    // the sum (and the whole op) is bit-identical whatever the thread split.
    const T* g0 = k.G + k.sorted_pos[first] * d;
    for (int64_t c = 0; c < d; ++c) g[c] = g0[c];
    for (int64_t j = first + 1; j < last; ++j) {
      const T* gj = k.G + k.sorted_pos[j] * d;
      for (int64_t c = 0; c < d; ++c) g[c] += gj[c];
    }
    const int64_t off = id * d;
    update_row<T, OPT, MOMENTUM>(k.P + off, k.S1 ? k.S1 + off : nullptr,
                                 k.S2 ? k.S2 + off : nullptr, k.V ? k.V + off : nullptr,
                                 k.STEP ? k.STEP + id : nullptr, g, u, t, d, k.h);
  }
}

template <typename T, int64_t OPT, bool MOMENTUM>
void process_runs_base(const RowTask<T>& k, int64_t begin, int64_t end, T* g, T* u, T* t) {
  process_runs<T, OPT, MOMENTUM>(k, begin, end, g, u, t);
}

#ifdef GRU4REC_X86
// AVX2 without FMA: twice the lanes, and no contraction, so every result stays
// bit-identical to the baseline copy (IEEE ops round the same at any width).
template <typename T, int64_t OPT, bool MOMENTUM>
__attribute__((target("avx2"))) void process_runs_avx2(const RowTask<T>& k, int64_t begin,
                                                       int64_t end, T* g, T* u, T* t) {
  process_runs<T, OPT, MOMENTUM>(k, begin, end, g, u, t);
}
// GRU4REC_FAST_CPU_BASELINE=1 forces the baseline copy (to compare, or to rule it out).
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && !std::getenv("GRU4REC_FAST_CPU_BASELINE");
#endif

template <typename T, int64_t OPT, bool MOMENTUM>
void update_rows(at::Tensor& param, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2,
                 at::Tensor& velocity, at::Tensor& step_count, const std::vector<int64_t>& sorted_ids,
                 const std::vector<int64_t>& sorted_pos, const std::vector<int64_t>& run_starts,
                 const Hyper<T>& h) {
  const int64_t d = param.size(1);
  RowTask<T> k;
  k.P = param.data_ptr<T>();
  k.G = grads.data_ptr<T>();
  k.S1 = kOptimizers[OPT].uses_s1 ? state1.data_ptr<T>() : nullptr;
  k.S2 = kOptimizers[OPT].uses_s2 ? state2.data_ptr<T>() : nullptr;
  k.V = MOMENTUM ? velocity.data_ptr<T>() : nullptr;
  k.STEP = kOptimizers[OPT].uses_steps ? step_count.data_ptr<T>() : nullptr;
  k.sorted_ids = sorted_ids.data();
  k.sorted_pos = sorted_pos.data();
  k.run_starts = run_starts.data();
  k.d = d;
  k.h = h;
  const int64_t runs = static_cast<int64_t>(run_starts.size()) - 1;
  // ~16k elements' worth of work per task, counting a run's fixed cost (sort lookups,
  // prefetch, calls) as ~32 elements: the biases (d = 1, ~2k runs) still split over
  // the threads instead of running as one serial task.
  const int64_t grain = std::max<int64_t>(1, 16384 / (d + 32));
  at::parallel_for(0, runs, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(3 * d);
    T* g = scratch.data();
#ifdef GRU4REC_X86
    if (kHasAvx2) {
      process_runs_avx2<T, OPT, MOMENTUM>(k, begin, end, g, g + d, g + 2 * d);
      return;
    }
#endif
    process_runs_base<T, OPT, MOMENTUM>(k, begin, end, g, g + d, g + 2 * d);
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
  sort_ids(ids.data_ptr<int64_t>(), M, n, sorted_ids, sorted_pos);
  std::vector<int64_t> run_starts;
  run_starts.reserve(M + 1);
  for (int64_t i = 0; i < M; ++i)
    if (i == 0 || sorted_ids[i] != sorted_ids[i - 1]) run_starts.push_back(i);
  run_starts.push_back(M);
  AT_DISPATCH_FLOATING_TYPES(param.scalar_type(), "sparse_row_update_cpu_", [&] {
    const Hyper<scalar_t> h{static_cast<scalar_t>(lr), static_cast<scalar_t>(momentum),
                            static_cast<scalar_t>(lmbd), static_cast<scalar_t>(eps),
                            static_cast<scalar_t>(p1), static_cast<scalar_t>(p2)};
    G4R_DISPATCH_OPTIMIZER(optimizer, momentum > 0.0, "sparse_row_update_", [&] {
      update_rows<scalar_t, kOpt, kMomentum>(param, grads, state1, state2, velocity, step_count,
                                             sorted_ids, sorted_pos, run_starts, h);
    });
  });
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/sparse_row_update.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "sparse_row_update.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "sparse_row_update_", run_sparse_row_update_, sparse_row_update_cpu_);
}
