// The dense optimiser step on the CPU (see dense_update_cpu.h).
//
// The row-sparse kernel (sparse_row_update_cpu.cpp) updates a row in four passes over
// scratch rows (accumulator, sqrt, division, parameter): 6 stores per element, which is
// what the dense GRU weights' update costs (~0.7 ns per element at d = 100..672, all
// of it that arithmetic). Here each element goes through its whole step in registers:
// one load and one store per tensor and element. The arithmetic is the same expression
// for expression, with no fused multiply-add anywhere (the AVX2 copy has no FMA
// target), so every result is bit-identical to the row kernel's.
#include "dense_update_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define G4R_DENSE_X86 1
#endif

#include "common/code_tables.h"
#include "common/dispatch.h"
#include "common/enums.h"
#include "common/optimizers.h"  // adam_bias_correction, OptimizerHyper
#include "cpu/table_ptrs_cpu.h"

namespace gru4rec {

namespace {

// 32-byte GCC vectors: the AVX2 copy below compiles their operators to single ymm
// instructions, the baseline copy to pairs of SSE2 instructions. They never cross a
// non-inlined call (both entry points flatten), so GCC's note that passing them by
// value without AVX changes the ABI does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float F8 __attribute__((vector_size(32)));
typedef double D4 __attribute__((vector_size(32)));
template <typename T> struct Simd;
template <> struct Simd<float> { using type = F8; static constexpr int64_t width = 8; };
template <> struct Simd<double> { using type = D4; static constexpr int64_t width = 4; };

// IEEE sqrt, element-wise, as a policy of the kernel copy: the AVX2 copy's is one
// vsqrtps/vsqrtpd (target("avx2") functions cannot be inlined into the generic
// templates below, hence flatten on the two entry points instead of always_inline);
// the baseline copy's is two SSE2 sqrts. std::sqrt (the scalar tail) rounds the same.
struct SqrtBase {
  static float run(float x) { return std::sqrt(x); }
  static double run(double x) { return std::sqrt(x); }
#ifdef G4R_DENSE_X86
  static F8 run(const F8& x) {
    __m128 half[2];
    std::memcpy(half, &x, sizeof(x));
    half[0] = _mm_sqrt_ps(half[0]);
    half[1] = _mm_sqrt_ps(half[1]);
    F8 r;
    std::memcpy(&r, half, sizeof(r));
    return r;
  }
  static D4 run(const D4& x) {
    __m128d half[2];
    std::memcpy(half, &x, sizeof(x));
    half[0] = _mm_sqrt_pd(half[0]);
    half[1] = _mm_sqrt_pd(half[1]);
    D4 r;
    std::memcpy(&r, half, sizeof(r));
    return r;
  }
#else
  template <typename V>
  static V run(const V& x) {
    V r;
    for (int i = 0; i < static_cast<int>(sizeof(V) / sizeof(x[0])); ++i) r[i] = std::sqrt(x[i]);
    return r;
  }
#endif
};

#ifdef G4R_DENSE_X86
struct SqrtAvx2 {
  __attribute__((target("avx2"))) static float run(float x) { return std::sqrt(x); }
  __attribute__((target("avx2"))) static double run(double x) { return std::sqrt(x); }
  __attribute__((target("avx2"))) static F8 run(const F8& x) {
    return reinterpret_cast<F8>(_mm256_sqrt_ps(reinterpret_cast<__m256>(x)));
  }
  __attribute__((target("avx2"))) static D4 run(const D4& x) {
    return reinterpret_cast<D4>(_mm256_sqrt_pd(reinterpret_cast<__m256d>(x)));
  }
};
#endif

template <int64_t OPT>
constexpr bool kUsesS1 = kOptimizers[OPT].uses_s1;
template <int64_t OPT>
constexpr bool kUsesS2 = kOptimizers[OPT].uses_s2;

// One element's step (E: a scalar T or a vector of T), expression for expression the
// row kernel's update_row in sparse_row_update_cpu.cpp: change both or neither
// (tests/ops/test_dense_update.py holds them to the same bits).
template <typename Sqrt, int64_t OPT, bool MOMENTUM, typename E, typename T>
inline void step_element(E& p, E& s1, E& s2, E& v, const E& g,
                                   const OptimizerHyper<T>& h, T bc1, T bc2) {
  E u;
  if constexpr (OPT == OPT_SGD) {
    u = g;
  } else if constexpr (OPT == OPT_ADAGRAD) {
    const E a = s1 + g * g;
    s1 = a;
    u = g / Sqrt::run(E(a + h.eps));
  } else if constexpr (OPT == OPT_RMSPROP) {
    const T rho = h.p1, one_m_rho = T(1) - h.p1;
    const E a = rho * s1 + one_m_rho * g * g;
    s1 = a;
    u = g / Sqrt::run(E(a + h.eps));
  } else if constexpr (OPT == OPT_ADAM) {
    const T b1 = h.p1, b2 = h.p2;
    const E m = b1 * s2 + (T(1) - b1) * g;
    const E a = b2 * s1 + (T(1) - b2) * g * g;
    s2 = m;
    s1 = a;
    const E t = Sqrt::run(E(a / bc2));
    u = (m / bc1) / (t + h.eps);
  } else {
    static_assert(OPT == OPT_ADADELTA, "step_element: unknown optimizer code");
    const T rho = h.p1, one_m_rho = T(1) - h.p1;
    const E a = rho * s1 + one_m_rho * g * g;
    s1 = a;
    const E t = Sqrt::run(E(a + h.eps));
    const E w = Sqrt::run(E(s2 + h.eps));
    const E upd = g * w / t;
    u = upd;
    s2 = rho * s2 + one_m_rho * upd * upd;
  }
  if (h.lmbd != T(0)) u += h.lmbd * p;  // a branch, not + 0 * p (as the row kernel)
  if constexpr (MOMENTUM) {
    const E vel = h.momentum * v - h.lr * u;
    v = vel;
    p += vel;
  } else {
    p -= h.lr * u;
  }
}

// The table's pointers (table_ptrs_cpu.h), its row width and the step's hyper-parameters.
template <typename T>
struct DensePtrs : TablePtrs<T> {
  int64_t d;
  OptimizerHyper<T> h;
};

template <typename E, typename T>
inline E load(const T* p) {
  E e;
  std::memcpy(&e, p, sizeof(E));
  return e;
}
template <typename E, typename T>
inline void store(T* p, const E& e) { std::memcpy(p, &e, sizeof(E)); }

// Elements [i0, i1) of the flat tensors, sharing one Adam bias correction (bc1, bc2).
template <typename Sqrt, typename T, int64_t OPT, bool MOMENTUM, typename E>
inline int64_t step_span(const DensePtrs<T>& k, int64_t i, int64_t i1, int64_t width,
                                   T bc1, T bc2) {
  for (; i + width <= i1; i += width) {
    E p = load<E>(k.P + i), s1{}, s2{}, v{};
    const E g = load<E>(k.G + i);
    if constexpr (kUsesS1<OPT>) s1 = load<E>(k.S1 + i);
    if constexpr (kUsesS2<OPT>) s2 = load<E>(k.S2 + i);
    if constexpr (MOMENTUM) v = load<E>(k.V + i);
    step_element<Sqrt, OPT, MOMENTUM, E, T>(p, s1, s2, v, g, k.h, bc1, bc2);
    store(k.P + i, p);
    if constexpr (kUsesS1<OPT>) store(k.S1 + i, s1);
    if constexpr (kUsesS2<OPT>) store(k.S2 + i, s2);
    if constexpr (MOMENTUM) store(k.V + i, v);
  }
  return i;
}

// Elements [i0, i1): whole vectors, then the scalar tail.
template <typename Sqrt, typename T, int64_t OPT, bool MOMENTUM>
inline void step_elements(const DensePtrs<T>& k, int64_t i0, int64_t i1, T bc1, T bc2) {
  const int64_t i = step_span<Sqrt, T, OPT, MOMENTUM, typename Simd<T>::type>(
      k, i0, i1, Simd<T>::width, bc1, bc2);
  step_span<Sqrt, T, OPT, MOMENTUM, T>(k, i, i1, 1, bc1, bc2);
}

// Rows [r0, r1). Adam's bias correction is per row (its step counts are); the other
// optimisers run over the rows' elements as one flat span (no per-row vector tail).
template <typename Sqrt, typename T, int64_t OPT, bool MOMENTUM>
inline void step_rows(const DensePtrs<T>& k, int64_t r0, int64_t r1) {
  if constexpr (OPT == OPT_ADAM) {
    for (int64_t r = r0; r < r1; ++r) {
      const T steps = k.STEP[r] + T(1);
      k.STEP[r] = steps;
      step_elements<Sqrt, T, OPT, MOMENTUM>(k, r * k.d, (r + 1) * k.d, adam_bias_correction(k.h.p1, steps),
                                      adam_bias_correction(k.h.p2, steps));
    }
  } else {
    step_elements<Sqrt, T, OPT, MOMENTUM>(k, r0 * k.d, r1 * k.d, T(0), T(0));
  }
}

template <typename T, int64_t OPT, bool MOMENTUM>
__attribute__((flatten)) void step_rows_base(const DensePtrs<T>& k, int64_t r0, int64_t r1) {
  step_rows<SqrtBase, T, OPT, MOMENTUM>(k, r0, r1);
}

#ifdef G4R_DENSE_X86
// AVX2 without FMA (no contraction, so the same bits as the baseline copy).
template <typename T, int64_t OPT, bool MOMENTUM>
__attribute__((target("avx2"), flatten)) void step_rows_avx2(const DensePtrs<T>& k, int64_t r0,
                                                             int64_t r1) {
  step_rows<SqrtAvx2, T, OPT, MOMENTUM>(k, r0, r1);
}
// GRU4REC_FAST_CPU_BASELINE=1 forces the baseline copy, as in the row-sparse kernel.
const bool kDenseAvx2 = __builtin_cpu_supports("avx2") && !std::getenv("GRU4REC_FAST_CPU_BASELINE");
#endif

}  // namespace

void dense_update_cpu_(SparseRowTable& t, int64_t optimizer, double lr, double momentum,
                       double lmbd, double eps, double p1, double p2) {
  const int64_t rows = t.param.dim() == 2 ? t.param.size(0) : 1;
  const int64_t d = rows > 0 ? t.param.numel() / rows : 0;
  if (rows == 0 || d == 0) return;
  TORCH_CHECK(t.param.is_contiguous() && t.grads.is_contiguous() &&
                  t.grads.numel() == t.param.numel(),
              "dense_update_cpu_: needs a contiguous parameter and a gradient of its size");
  AT_DISPATCH_FLOATING_TYPES(t.param.scalar_type(), "dense_update_cpu_", [&] {
    using T = scalar_t;
    const OptimizerHyper<T> h{static_cast<T>(lr), static_cast<T>(momentum),
                              static_cast<T>(lmbd), static_cast<T>(eps),
                              static_cast<T>(p1), static_cast<T>(p2)};
    G4R_DISPATCH_OPTIMIZER(optimizer, momentum > 0.0, "dense_update_", [&] {
      const DensePtrs<T> k{table_ptrs<T, kOpt, kMomentum>(t), d, h};
      // The row kernel's split (~16k elements per task): the result does not depend on
      // it (each element's step is independent), only the speed does.
      const int64_t grain = std::max<int64_t>(1, 16384 / (d + 32));
      at::parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
#ifdef G4R_DENSE_X86
        if (kDenseAvx2) {
          step_rows_avx2<T, kOpt, kMomentum>(k, r0, r1);
          return;
        }
#endif
        step_rows_base<T, kOpt, kMomentum>(k, r0, r1);
      });
    });
  });
}

}  // namespace gru4rec
