// The losses' per-element terms and derivatives, usable from C++ and CUDA: written once
// here, called by the CPU kernel (csrc/cpu/fused_loss_cpu.cpp) and the CUDA kernel
// (csrc/cuda/kernels/fused_loss_kernels.cuh). Row reductions (softmax over the
// negatives, the block / lane sums) stay in the kernels; what they combine is here.
//
// Notation of one row: y_j = act(z_j), d = y_i the positive, s_j the softmax weights
// of the negatives (s_i = 0) for the max losses, g_j = dL/dy_j with the positive's own
// derivative dL/dd added at j == i by the kernel.
//
// The only specialised piece a kernel may bring is exp(-|v|): the *_from_exp functions
// take it as an argument, so the CPU passes its vectorisable exp_nonpos
// (csrc/cpu/loss_math_cpu.h) and the CUDA kernel the libm exp; the formulas around it are
// shared. tests/ops/test_loss_terms.py holds exp_nonpos to g4r_exp element by element.
#pragma once
#include <cmath>
#include <cstdint>

#include "activations.h"  // G4R_HD, g4r_exp, g4r_log1p

namespace gru4rec {

// -log(y + 1e-24), -log(S + 1e-24): the spec's guard against log(0), every loss alike.
constexpr double kLossEps = 1e-24;

G4R_HD float g4r_log(float x) { return ::logf(x); }
G4R_HD double g4r_log(double x) { return ::log(x); }

// Label smoothing of cross-entropy / xe_logit: the positive's weight and every column's
// weight (the target is (1 - smoothing) on the positive, smoothing / (N - 1) elsewhere).
// Computed in double once per call, on the host.
struct SmoothingWeights {
  double pos, all;
};
inline SmoothingWeights smoothing_weights(double smoothing, int64_t N) {
  if (N > 1 && smoothing > 0)
    return {1.0 - smoothing * double(N) / double(N - 1), smoothing / double(N - 1)};
  return {1.0, 0.0};
}

// ---- sigmoid helpers, from e = exp(-|v|) ------------------------------------------

// sigmoid(v) and sigmoid'(v) = sig (1 - sig), stable for any |v|.
template <typename T>
G4R_HD void sigmoid_pair_from_exp(T v, T e, T& sig, T& dsig) {
  const T inv = T(1) / (T(1) + e);
  sig = v >= T(0) ? inv : e * inv;
  dsig = e * inv * inv;
}

// sigmoid(-v) = 1 - sigmoid(v), without the cancellation.
template <typename T>
G4R_HD T sigmoid_neg_from_exp(T v, T e) {
  const T inv = T(1) / (T(1) + e);
  return v >= T(0) ? e * inv : inv;
}

// -log sigmoid(v) = softplus(-v) = log1p(exp(-|v|)) - min(v, 0).
template <typename T>
G4R_HD T neg_log_sigmoid_from_exp(T v, T e) {
  return g4r_log1p(e) - (v < T(0) ? v : T(0));
}

template <typename T>
G4R_HD T exp_neg_abs(T v) {
  return g4r_exp(-::fabs(v));
}

template <typename T>
G4R_HD void sigmoid_pair(T v, T& sig, T& dsig) {
  sigmoid_pair_from_exp(v, exp_neg_abs(v), sig, dsig);
}

// ---- cross-entropy (y are probabilities) ------------------------------------------
// L = -w_pos log(d + eps) - w_all sum_j log(y_j + eps)

template <typename T>
G4R_HD T xe_log_term(T y) {
  return g4r_log(y + T(kLossEps));
}

// The row loss from the positive's log term and the sum of all log terms.
template <typename T>
G4R_HD T xe_loss(T w_pos, T log_d, T w_all, T sum_log) {
  return -(w_pos * log_d) - w_all * sum_log;
}

// dL/dy_j of weight w (w_all for every column, w_pos once more at the positive).
template <typename T>
G4R_HD T xe_grad(T w, T y) {
  return -w / (y + T(kLossEps));
}

// ---- xe_logit (y = logsumexp - z, i.e. -log softmax) ------------------------------
// L = w_pos d + w_all sum_j y_j; dL/dy_j = w_all, plus w_pos at the positive.

template <typename T>
G4R_HD T xe_logit_loss(T w_pos, T d, T w_all, T sum_y) {
  return w_pos * d + w_all * sum_y;
}

template <typename T>
G4R_HD T xe_logit_grad(T w_all, T w_pos, bool positive) {
  return positive ? w_all + w_pos : w_all;
}

// ---- bpr: L = sum_j -log sigmoid(d - y_j) -----------------------------------------
// With u = d - y_j and e = exp(-|u|): the term, dL/dy_j = sigmoid(-u); the positive's
// dL/dd is minus the sum of those (the j == i term cancels: its u is 0).

template <typename T>
G4R_HD T bpr_term_from_exp(T u, T e) {
  return neg_log_sigmoid_from_exp(u, e);
}

template <typename T>
G4R_HD T bpr_grad_from_exp(T u, T e) {
  return sigmoid_neg_from_exp(u, e);
}

// ---- bpr-max: L = -log(sum_j s_j sigmoid(d - y_j) + eps) + bpreg sum_j s_j y_j^2 ----
// Row statistics: S1 = sum s_j sig_j, Q = sum s_j sig_j (1 - sig_j), R = sum s_j y_j^2,
// with sig_j = sigmoid(d - y_j); P = S1 + eps.

template <typename T>
G4R_HD T bpr_max_p(T S1) {
  return S1 + T(kLossEps);
}

template <typename T>
G4R_HD T bpr_max_loss(T P, T bpreg, T R) {
  return -g4r_log(P) + bpreg * R;
}

// The row loss with no negatives (N == 1): S = 0, so -log(1e-24); no gradient.
template <typename T>
G4R_HD T bpr_max_loss_without_negatives() {
  return -g4r_log(T(kLossEps));
}

// dL/dy_k = -(s_k / P)(sig_k - S1 - sig_k (1 - sig_k)) + bpreg s_k (y_k^2 - R + 2 y_k)
template <typename T>
G4R_HD T bpr_max_grad(T s, T sig, T dsig, T y, T S1, T inv_p, T bpreg, T R) {
  return s * (-(sig - S1 - dsig) * inv_p + bpreg * (y * y - R + T(2) * y));
}

// dL/dd = -(1 / P) sum_j s_j sig_j (1 - sig_j)
template <typename T>
G4R_HD T bpr_max_grad_positive(T Q, T inv_p) {
  return -Q * inv_p;
}

// ---- top1: L = (1/N) sum_j [sigmoid(y_j - d) + sigmoid(y_j^2)] - (1/N) sigmoid(d^2) --
// (the j == i term of the sum is sigmoid(0) + sigmoid(d^2); the spec keeps the 0.5 and
// removes the regulariser of the positive). Per column a = sigmoid(y_j - d),
// b = sigmoid(y_j^2) and their derivatives da, db (sigmoid_pair).

template <typename T>
G4R_HD T top1_loss(T inv_n, T sum_a, T sum_b, T sig_dd) {
  return inv_n * (sum_a + sum_b - sig_dd);
}

template <typename T>
G4R_HD T top1_grad(T inv_n, T da, T y, T db) {
  return inv_n * (da + T(2) * y * db);
}

// dL/dd = -(1/N) (sum_j da_j + 2 d sigmoid'(d^2))
template <typename T>
G4R_HD T top1_grad_positive(T inv_n, T sum_da, T d, T dsig_dd) {
  return -(inv_n * (sum_da + T(2) * d * dsig_dd));
}

// ---- top1-max: L = Tot = sum_j s_j (a_j + b_j) -----------------------------------

// dL/dy_k = s_k (a_k + b_k - Tot + a_k (1 - a_k) + 2 y_k b_k (1 - b_k))
template <typename T>
G4R_HD T top1_max_grad(T s, T a, T b, T Tot, T da, T y, T db) {
  return s * (a + b - Tot + da + T(2) * y * db);
}

// dL/dd = -sum_j s_j a_j (1 - a_j)
template <typename T>
G4R_HD T top1_max_grad_positive(T sum_s_da) {
  return -sum_s_da;
}

}  // namespace gru4rec
