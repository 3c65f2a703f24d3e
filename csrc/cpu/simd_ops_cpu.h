// The vector operations of the CPU loss kernel's fused rows (csrc/cpu/fused_loss_cpu.cpp),
// one struct per instruction set: Avx2Ops (8 float lanes) and Avx512Ops (16). The rows
// (csrc/cpu/fused_loss_simd_rows.h) are written once against these names and compiled
// once per set, each copy with its own target attribute, chosen at run time by what the
// CPU has. Every operation is one IEEE operation per lane (or a bit operation), so both
// copies compute the same values; only the width differs.
//
// The sums of the rows are not vectors of width W but 8 double lanes (D), fed 8 floats
// at a time from memory: the lane assignment of the kernel's scalar sums (column j in lane
// j mod 8), which both sets keep.
#pragma once
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define G4R_HAVE_SIMD_OPS 1
#include <immintrin.h>

#include <cstdint>

#define G4R_AVX2_TARGET "avx2,fma"
#define G4R_AVX512_TARGET "avx512f,avx2,fma"
#define G4R_AVX2_OP static inline __attribute__((always_inline, target(G4R_AVX2_TARGET)))
#define G4R_AVX512_OP static inline __attribute__((always_inline, target(G4R_AVX512_TARGET)))

namespace gru4rec {

struct Avx2Ops {
  static constexpr int W = 8;
  using V = __m256;
  using M = __m256;  // lane mask: all bits set where true
  struct D {         // 8 double lanes
    __m256d lo, hi;
  };
  G4R_AVX2_OP V load(const float* p) { return _mm256_loadu_ps(p); }
  G4R_AVX2_OP void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  G4R_AVX2_OP V set1(float x) { return _mm256_set1_ps(x); }
  G4R_AVX2_OP V zero() { return _mm256_setzero_ps(); }
  G4R_AVX2_OP V add(V a, V b) { return _mm256_add_ps(a, b); }
  G4R_AVX2_OP V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  G4R_AVX2_OP V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  G4R_AVX2_OP V div(V a, V b) { return _mm256_div_ps(a, b); }
  G4R_AVX2_OP V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a b + c
  G4R_AVX2_OP V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a b
  G4R_AVX2_OP V fmsub(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }    // a b - c
  // min / max: `a < b ? a : b` / `a > b ? a : b`, the second operand where one is NaN
  G4R_AVX2_OP V min(V a, V b) { return _mm256_min_ps(a, b); }
  G4R_AVX2_OP V max(V a, V b) { return _mm256_max_ps(a, b); }
  G4R_AVX2_OP V neg_abs(V a) { return _mm256_or_ps(a, _mm256_set1_ps(-0.f)); }  // -|a|
  G4R_AVX2_OP M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  G4R_AVX2_OP M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  G4R_AVX2_OP M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  G4R_AVX2_OP M is_nan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  G4R_AVX2_OP bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  // the lanes of columns j, j + 1, ... that are column i
  G4R_AVX2_OP M is_column(int32_t j, int32_t i) {
    const __m256i col = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(j));
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(col, _mm256_set1_epi32(i)));
  }
  G4R_AVX2_OP V select(M m, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, m); }
  G4R_AVX2_OP V zero_where(M m, V v) { return _mm256_andnot_ps(m, v); }
  // e * 2^n, n = t - 1.5 * 2^23 held in t's low mantissa bits (exp_nonpos's range reduction)
  G4R_AVX2_OP V scale_by_pow2(V e, V t) {
    const __m256i b = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(int32_t(127u - 0x4B400000u))), 23);
    return _mm256_mul_ps(e, _mm256_castsi256_ps(b));
  }
  // the max over the lanes folded into 8 lanes (max is exact: any fold order)
  G4R_AVX2_OP void store_max8(float* acc8, V v) { _mm256_storeu_ps(acc8, v); }
  // 8 double lanes, fed 8 floats from memory (widened from memory operands: widening a
  // register's two halves measured slower in these loops)
  G4R_AVX2_OP D dzero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  G4R_AVX2_OP D widen(const float* p) {
    return {_mm256_cvtps_pd(_mm_loadu_ps(p)), _mm256_cvtps_pd(_mm_loadu_ps(p + 4))};
  }
  // float(p[k] * s), widened
  G4R_AVX2_OP D widen_scaled(const float* p, float s) {
    const __m128 s4 = _mm_set1_ps(s);
    return {_mm256_cvtps_pd(_mm_mul_ps(_mm_loadu_ps(p), s4)),
            _mm256_cvtps_pd(_mm_mul_ps(_mm_loadu_ps(p + 4), s4))};
  }
  G4R_AVX2_OP D dadd(D a, D b) { return {_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)}; }
  G4R_AVX2_OP D dmul(D a, D b) { return {_mm256_mul_pd(a.lo, b.lo), _mm256_mul_pd(a.hi, b.hi)}; }
  G4R_AVX2_OP D dfmadd(D a, D b, D c) {
    return {_mm256_fmadd_pd(a.lo, b.lo, c.lo), _mm256_fmadd_pd(a.hi, b.hi, c.hi)};
  }
  G4R_AVX2_OP void dstore(double* acc8, D d) {
    _mm256_storeu_pd(acc8, d.lo);
    _mm256_storeu_pd(acc8 + 4, d.hi);
  }
};

struct Avx512Ops {
  static constexpr int W = 16;
  using V = __m512;
  using M = __mmask16;
  using D = __m512d;
  G4R_AVX512_OP V load(const float* p) { return _mm512_loadu_ps(p); }
  G4R_AVX512_OP void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  G4R_AVX512_OP V set1(float x) { return _mm512_set1_ps(x); }
  G4R_AVX512_OP V zero() { return _mm512_setzero_ps(); }
  G4R_AVX512_OP V add(V a, V b) { return _mm512_add_ps(a, b); }
  G4R_AVX512_OP V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  G4R_AVX512_OP V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  G4R_AVX512_OP V div(V a, V b) { return _mm512_div_ps(a, b); }
  G4R_AVX512_OP V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  G4R_AVX512_OP V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  G4R_AVX512_OP V fmsub(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
  G4R_AVX512_OP V min(V a, V b) { return _mm512_min_ps(a, b); }
  G4R_AVX512_OP V max(V a, V b) { return _mm512_max_ps(a, b); }
  G4R_AVX512_OP V neg_abs(V a) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN)));
  }
  G4R_AVX512_OP M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  G4R_AVX512_OP M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  G4R_AVX512_OP M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  G4R_AVX512_OP M is_nan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  G4R_AVX512_OP bool any(M m) { return m != 0; }
  G4R_AVX512_OP M is_column(int32_t j, int32_t i) {
    const __m512i col = _mm512_add_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(j));
    return _mm512_cmpeq_epi32_mask(col, _mm512_set1_epi32(i));
  }
  G4R_AVX512_OP V select(M m, V if_true, V if_false) { return _mm512_mask_blend_ps(m, if_false, if_true); }
  G4R_AVX512_OP V zero_where(M m, V v) { return _mm512_maskz_mov_ps(M(~m), v); }
  G4R_AVX512_OP V scale_by_pow2(V e, V t) {
    const __m512i b = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(int32_t(127u - 0x4B400000u))), 23);
    return _mm512_mul_ps(e, _mm512_castsi512_ps(b));
  }
  G4R_AVX512_OP void store_max8(float* acc8, V v) {
    const __m256 lo = _mm512_castps512_ps256(v);
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    _mm256_storeu_ps(acc8, _mm256_max_ps(hi, lo));
  }
  G4R_AVX512_OP D dzero() { return _mm512_setzero_pd(); }
  G4R_AVX512_OP D widen(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  G4R_AVX512_OP D widen_scaled(const float* p, float s) {
    return _mm512_cvtps_pd(_mm256_mul_ps(_mm256_loadu_ps(p), _mm256_set1_ps(s)));
  }
  G4R_AVX512_OP D dadd(D a, D b) { return _mm512_add_pd(a, b); }
  G4R_AVX512_OP D dmul(D a, D b) { return _mm512_mul_pd(a, b); }
  G4R_AVX512_OP D dfmadd(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  G4R_AVX512_OP void dstore(double* acc8, D d) { _mm512_storeu_pd(acc8, d); }
};

}  // namespace gru4rec
#endif
