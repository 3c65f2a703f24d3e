// The CPU loss kernel's fused rows of the published setups, written once against an op
// set of csrc/cpu/simd_ops_cpu.h and compiled once per instruction set. No include
// guard on purpose: csrc/cpu/fused_loss_cpu.cpp includes it once per set, each time in a
// namespace of its own, with O (the op set) and G4R_SIMD_FN (always_inline + the set's
// target) and G4R_SIMD_TARGET (the set's target string) defined.
//
// Why fused rows: the general row (fused_loss_row, fused_loss_cpu.cpp) re-reads the row
// once per step (10-13 passes, most of them loads and stores around little arithmetic),
// and GCC's if-conversion of its exp loops costs ~25% over the vector exp below. These
// rows make 3 passes (cross-entropy + softmax without smoothing) or 5 (bpr-max + ELU),
// W columns per step. Each pass keeps the loop body short: on this kernel's CPUs one long
// fused body (exp + sigmoid + sums) measured slower than two short loops.
//
// Same results as the general row, bit for bit (tests/ops/test_fused_loss_rows.py): the
// vector forms below are the scalar functions of losses.h / loss_math_cpu.h operation for
// operation, with an FMA exactly where GCC contracts the scalar form in the AVX2 clone;
// the sums keep the general row's lane assignment (column j in lane j mod 8 for the full
// blocks of 8, the tail in lane 0) and order (combine_lanes); the tail columns take the
// scalar functions themselves. off is never null here (RowWork::zeros without logQ:
// x - 0 is x bit for bit) and out never aliases x or off (the kernel allocates it).

// exp_nonpos (loss_math_cpu.h) for the rows' arguments, which are never NaN (a row with a
// NaN or an infinity is discarded before its results are used): equal to exp_nonpos for
// every non-NaN float, without its NaN select. MAY_BE_POSITIVE: min(0, x), exp_nonpos's
// `x > 0 ? 0 : x`, which the max-subtracted and -|v| arguments do not need (for x <= 0,
// -0 included, it is x). max(-87.3, x) is its clamp of tiny x.
template <bool MAY_BE_POSITIVE>
G4R_SIMD_FN O::V exp_nonpos_v(O::V x) {
  if constexpr (MAY_BE_POSITIVE) x = O::min(O::zero(), x);
  const O::V lo = O::set1(-87.3f);
  const O::V xc = O::max(lo, x);
  const O::V magic = O::set1(12582912.f);
  const O::V t = O::fmadd(xc, O::set1(1.44269504088896341f), magic);
  const O::V n = O::sub(t, magic);
  O::V r = O::fnmadd(n, O::set1(0.693359375f), xc);
  r = O::fnmadd(n, O::set1(-2.12194440e-4f), r);
  O::V p = O::set1(1.9875691500e-4f);
  p = O::fmadd(p, r, O::set1(1.3981999507e-3f));
  p = O::fmadd(p, r, O::set1(8.3334519073e-3f));
  p = O::fmadd(p, r, O::set1(4.1665795894e-2f));
  p = O::fmadd(p, r, O::set1(1.6666665459e-1f));
  p = O::fmadd(p, r, O::set1(5.0000001201e-1f));
  O::V e = O::add(O::fmadd(O::mul(p, r), r, r), O::set1(1.f));
  e = O::scale_by_pow2(e, t);
  return O::zero_where(O::lt(x, lo), e);
}

// sigmoid_pair_cpu: sigmoid(v) and its derivative from e = exp(-|v|).
G4R_SIMD_FN void sigmoid_pair_v(O::V v, O::V& sig, O::V& dsig) {
  const O::V e = exp_nonpos_v<false>(O::neg_abs(v));
  const O::V one = O::set1(1.f);
  const O::V inv = O::div(one, O::add(one, e));
  const O::V e_inv = O::mul(e, inv);
  sig = O::select(O::ge(v, O::zero()), inv, e_inv);
  dsig = O::mul(e_inv, inv);
}

// elu_cpu: z >= 0 ? z : a (exp(z) - 1).
G4R_SIMD_FN O::V elu_v(O::V z, O::V a) {
  const O::V neg = O::mul(a, O::sub(exp_nonpos_v<true>(z), O::set1(1.f)));
  return O::select(O::ge(z, O::zero()), z, neg);
}

// act_derivative_select<ACT_ELU>: z > 0 ? g : g (y + a).
G4R_SIMD_FN O::V elu_derivative_select_v(O::V z, O::V y, O::V g, O::V a) {
  return O::select(O::gt(z, O::zero()), g, O::mul(g, O::add(y, a)));
}

// bpr_max_grad (losses.h): s (-(sig - S1 - dsig) inv_p + bpreg (y y - R + 2 y)).
G4R_SIMD_FN O::V bpr_max_grad_v(O::V s, O::V sig, O::V dsig, O::V y, O::V S1, O::V inv_p, O::V bpreg,
                                O::V R) {
  const O::V t = O::sub(O::sub(sig, S1), dsig);
  const O::V u = O::fmsub(y, y, R);
  const O::V v = O::fmadd(O::set1(2.f), y, u);
  return O::mul(s, O::fnmadd(t, inv_p, O::mul(bpreg, v)));
}

// The 8 double lanes plus the scalar tail's lane 0, combined (lane_sum's order).
G4R_SIMD_FN double combine_d(O::D acc, double tail) {
  double lanes[kLanes];
  O::dstore(lanes, acc);
  lanes[0] += tail;
  return combine_lanes(lanes);
}

// The max of the vector lanes and the tail's.
G4R_SIMD_FN float max_v(O::V mx, float tail) {
  float lanes[kLanes];
  O::store_max8(lanes, mx);
  lanes[0] = tail > lanes[0] ? tail : lanes[0];
  return max_of_lanes(lanes);
}

// sum_lanes(p, N), 8 columns per step from memory.
G4R_SIMD_FN float sum_v(const float* p, int64_t N) {
  const int64_t Nv = N - N % kLanes;
  O::D acc = O::dzero();
  for (int64_t j = 0; j < Nv; j += kLanes) acc = O::dadd(acc, O::widen(p + j));
  double tail = 0.0;
  for (int64_t j = Nv; j < N; ++j) tail += double(p[j]);
  return float(combine_d(acc, tail));
}

// Cross-entropy + softmax, no smoothing (w_all == 0): g = dL/dy is zero except at the
// positive, so softmax's backward y_j (g_j - sum_k y_k g_k) needs only y_i and g_i.
G4R_SIMD_FN float xe_softmax_row_v(const LossConfig& c, const float* x, const float* off, float* out,
                                   int64_t N, int64_t i) {
  constexpr int W = O::W;
  const float ninf = -std::numeric_limits<float>::infinity();
  const int64_t Nw = N - N % W;
  // 1: z = x - off, its max and the finite check (z * 0 is NaN for NaN and +-inf)
  O::V mx = O::set1(ninf), fin = O::zero();
  for (int64_t j = 0; j < Nw; j += W) {
    const O::V z = O::sub(O::load(x + j), O::load(off + j));
    fin = O::add(fin, O::mul(z, O::zero()));
    mx = O::max(z, mx);  // z > mx ? z : mx
  }
  float mx_t = ninf, fin_t = 0.f;
  for (int64_t j = Nw; j < N; ++j) {
    const float z = x[j] - off[j];
    fin_t += z * 0.f;
    mx_t = z > mx_t ? z : mx_t;
  }
  if (O::any(O::is_nan(fin)) || fin_t != fin_t) return nan_row(out, N);
  const float m = max_v(mx, mx_t);
  // 2: p = exp(z - m) into out, then its sum
  const O::V mv = O::set1(m);
  for (int64_t j = 0; j < Nw; j += W)
    O::store(out + j, exp_nonpos_v<false>(O::sub(O::sub(O::load(x + j), O::load(off + j)), mv)));
  for (int64_t j = Nw; j < N; ++j) out[j] = exp_nonpos((x[j] - off[j]) - m);
  const float inv_s = 1.f / sum_v(out, N);
  const float d = out[i] * inv_s;  // y_i
  const float w_pos = float(c.w_pos), w_all = float(c.w_all), sc = float(c.scale);
  const float g_i = 0.f + xe_grad(w_pos, d);
  // sum_k y_k g_k as dot_lanes gives it: one non-zero term, exact in double
  const float t = float(0.0 + double(d) * double(g_i));
  const float g_minus_t = 0.f - t;  // g_j - t for j != i
  // 3: dz_j = y_j (g_j - t) * scale
  const O::V inv_v = O::set1(inv_s), gt_v = O::set1(g_minus_t), sc_v = O::set1(sc);
  for (int64_t j = 0; j < Nw; j += W)
    O::store(out + j, O::mul(O::mul(O::mul(O::load(out + j), inv_v), gt_v), sc_v));
  for (int64_t j = Nw; j < N; ++j) out[j] = out[j] * inv_s * g_minus_t * sc;
  out[i] = d * (g_i - t) * sc;
  return xe_loss(w_pos, xe_log_term(d), w_all, 0.f);
}

// bpr-max + ELU, 2 <= N < 2^31 (the column index compare is 32-bit).
G4R_SIMD_FN float bpr_max_elu_row_v(const LossConfig& c, const float* x, const float* off, float* out,
                                    int64_t N, int64_t i, RowWork<float>& w) {
  constexpr int W = O::W;
  const float ninf = -std::numeric_limits<float>::infinity();
  const float a = float(c.a);
  const O::V av = O::set1(a);
  float* y = w.y;
  float* e = w.neg;  // exp(y - m); s = e / sum is recomputed where needed (one multiply)
  float* sig = w.u1;
  float* dsig = w.u2;
  const int64_t Nw = N - N % W, Nv = N - N % kLanes;
  // 1: y = elu(x - off), the finite check, the max of y over the negatives (j != i)
  O::V mx = O::set1(ninf), fin = O::zero();
  for (int64_t j = 0; j < Nw; j += W) {
    const O::V z = O::sub(O::load(x + j), O::load(off + j));
    fin = O::add(fin, O::mul(z, O::zero()));
    const O::V yj = elu_v(z, av);
    O::store(y + j, yj);
    mx = O::max(O::select(O::is_column(int32_t(j), int32_t(i)), O::set1(ninf), yj), mx);
  }
  float mx_t = ninf, fin_t = 0.f;
  for (int64_t j = Nw; j < N; ++j) {
    const float z = x[j] - off[j];
    fin_t += z * 0.f;
    const float yj = elu_cpu(z, a);
    y[j] = yj;
    const float neg = j == i ? ninf : yj;
    mx_t = neg > mx_t ? neg : mx_t;
  }
  if (O::any(O::is_nan(fin)) || fin_t != fin_t) return nan_row(out, N);
  const float m = max_v(mx, mx_t);
  const float d = y[i];
  // 2: e = exp(y - m); y_i = -inf meanwhile makes e_i = exp_nonpos(-inf) = 0, the
  //    general row's s_i = 0
  y[i] = ninf;
  const O::V mv = O::set1(m);
  for (int64_t j = 0; j < Nw; j += W) O::store(e + j, exp_nonpos_v<false>(O::sub(O::load(y + j), mv)));
  for (int64_t j = Nw; j < N; ++j) e[j] = exp_nonpos(y[j] - m);
  y[i] = d;
  // 3: sigmoid(d - y) and its derivative, with the sum of e from memory
  const O::V dv = O::set1(d);
  O::D es = O::dzero();
  for (int64_t j = 0; j < Nw; j += W) {
    for (int k = 0; k < W; k += kLanes) es = O::dadd(es, O::widen(e + j + k));
    O::V sg, dsg;
    sigmoid_pair_v(O::sub(dv, O::load(y + j)), sg, dsg);
    O::store(sig + j, sg);
    O::store(dsig + j, dsg);
  }
  for (int64_t j = Nw; j < Nv; j += kLanes) es = O::dadd(es, O::widen(e + j));
  double es_t = 0.0;
  for (int64_t j = Nv; j < N; ++j) es_t += double(e[j]);
  for (int64_t j = Nw; j < N; ++j) sigmoid_pair_cpu(d - y[j], sig[j], dsig[j]);
  const float inv = 1.f / float(combine_d(es, es_t));
  // 4: with s = e / sum (negative_softmax's s): S1 = sum s sig, Q = sum s dsig,
  //    R = sum s y^2, in double
  O::D S1d = O::dzero(), Qd = O::dzero(), Rd = O::dzero();
  for (int64_t j = 0; j < Nv; j += kLanes) {
    const O::D sj = O::widen_scaled(e + j, inv);
    S1d = O::dfmadd(sj, O::widen(sig + j), S1d);
    Qd = O::dfmadd(sj, O::widen(dsig + j), Qd);
    const O::D yj = O::widen(y + j);
    Rd = O::dfmadd(O::dmul(sj, yj), yj, Rd);
  }
  double s1_t = 0.0, q_t = 0.0, r_t = 0.0;
  for (int64_t j = Nv; j < N; ++j) {
    const float sj = e[j] * inv;
    s1_t += double(sj) * double(sig[j]);
    q_t += double(sj) * double(dsig[j]);
    const double yj = double(y[j]);
    r_t += double(sj) * yj * yj;
  }
  const float S1 = float(combine_d(S1d, s1_t));
  const float Q = float(combine_d(Qd, q_t));
  const float R = float(combine_d(Rd, r_t));
  const float P = bpr_max_p(S1);
  const float inv_p = 1.f / P;
  const float reg = float(c.bpreg), sc = float(c.scale);
  // 5: dL/dy, then through ELU; the positive's own derivative added at i
  const O::V S1v = O::set1(S1), inv_pv = O::set1(inv_p), regv = O::set1(reg), Rv = O::set1(R),
             scv = O::set1(sc), inv_v = O::set1(inv);
  for (int64_t j = 0; j < Nw; j += W) {
    const O::V yj = O::load(y + j);
    const O::V g = bpr_max_grad_v(O::mul(O::load(e + j), inv_v), O::load(sig + j),
                                  O::load(dsig + j), yj, S1v, inv_pv, regv, Rv);
    const O::V z = O::sub(O::load(x + j), O::load(off + j));
    O::store(out + j, O::mul(elu_derivative_select_v(z, yj, g, av), scv));
  }
  for (int64_t j = Nw; j < N; ++j) {
    const float g = bpr_max_grad(e[j] * inv, sig[j], dsig[j], y[j], S1, inv_p, reg, R);
    out[j] = act_derivative_select<ACT_ELU>(x[j] - off[j], y[j], g, a, 0.f) * sc;
  }
  const float g_i = bpr_max_grad(e[i] * inv, sig[i], dsig[i], d, S1, inv_p, reg, R) +
                    bpr_max_grad_positive(Q, inv_p);
  out[i] = act_derivative_select<ACT_ELU>(x[i] - off[i], d, g_i, a, 0.f) * sc;
  return bpr_max_row_loss(P, reg, R);
}

// One float row: a fused row where there is one for the pair, else the general row.
template <int64_t LOSS, int64_t ACT>
G4R_SIMD_FN float loss_row_v(const LossConfig& c, const float* x, const float* off, float* out,
                             int64_t N, int64_t i, RowWork<float>& w) {
  const float* off_or_zeros = off != nullptr ? off : w.zeros;
  if constexpr (LOSS == LOSS_CROSS_ENTROPY && ACT == ACT_SOFTMAX) {
    if (c.w_all == 0.0) return xe_softmax_row_v(c, x, off_or_zeros, out, N, i);
  } else if constexpr (LOSS == LOSS_BPR_MAX && ACT == ACT_ELU) {
    if (N >= 2 && N <= std::numeric_limits<int32_t>::max())
      return bpr_max_elu_row_v(c, x, off_or_zeros, out, N, i, w);
  }
  (void)off_or_zeros;
  return fused_loss_row<LOSS, ACT, float>(c, x, off, out, N, i, w);
}

// Rows [begin, end) of one call; everything inlined (G4R_FLATTEN, fused_loss_cpu.cpp).
template <int64_t LOSS, int64_t ACT>
__attribute__((target(G4R_SIMD_TARGET))) G4R_FLATTEN void loss_rows(
    const LossConfig& c, const float* x, const float* off, float* out, int64_t N, int64_t begin,
    int64_t end, RowWork<float>& w, double* row_loss) {
  for (int64_t i = begin; i < end; ++i)
    row_loss[i] = double(loss_row_v<LOSS, ACT>(c, x + i * N, off, out + i * N, N, i, w));
}
