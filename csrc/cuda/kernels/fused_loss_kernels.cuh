// Kernels of fused_loss (launched by csrc/cuda/fused_loss_cuda.cu; run on CPU by the
// CUDA emulation, csrc/emu/). One block per row. The row's output (dscores) doubles as
// scratch: it first holds y = act(z), then dL/dy, then dL/dz; everything else is
// recomputed from the scores, so N is limited only by memory. Per-row losses go to a
// small buffer that a second one-block kernel sums in a fixed order: no atomics, so the
// loss and gradient are bit-reproducible run to run. The loss terms and derivatives are
// the shared ones of csrc/common/losses.h (the CPU kernel calls the same).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/activations.h"
#include "common/enums.h"
#include "common/losses.h"
#include "cuda/portability.cuh"

namespace gru4rec {
namespace fused_loss_kernels {

constexpr int kMaxThreads = 256;

// Threads per row block: whole warps (block_sum needs them), at most kMaxThreads.
inline int row_threads(int64_t N) {
  return N >= kMaxThreads ? kMaxThreads : static_cast<int>((N + 31) / 32 * 32);
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    const T w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

// Block-wide sum / max; every thread gets the result. The fixed reduction tree makes
// the result independent of scheduling. blockDim.x must be a multiple of 32.
template <typename T>
__device__ T block_sum(T v, T* smem) {
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  __syncthreads();  // smem may still be read by the previous reduction
  if (lane == 0) smem[wid] = v;
  __syncthreads();
  return warp_sum(lane < nw ? smem[lane] : T(0));
}

template <typename T>
__device__ T block_max(T v, T* smem) {
  v = warp_max(v);
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) smem[wid] = v;
  __syncthreads();
  return warp_max(lane < nw ? smem[lane] : -std::numeric_limits<T>::infinity());
}

template <typename T>
struct Params {
  int64_t N;
  int loss, act;
  T a, b, bpreg, w_pos, w_all, scale;
};

template <typename T>
__global__ void fused_loss_rows_kernel(const T* __restrict__ x, const T* __restrict__ off,
                                       T* __restrict__ out, T* __restrict__ row_loss,
                                       const Params<T> p) {
  __shared__ T red[32];
  const int64_t N = p.N;
  const int64_t i = blockIdx.x;
  const T* xr = x + i * N;
  T* o = out + i * N;
  const int64_t t0 = threadIdx.x, step = blockDim.x;
  const T inf = std::numeric_limits<T>::infinity();
  const bool rowwise = p.act == ACT_SOFTMAX || p.act == ACT_SOFTMAX_LOGIT;
  auto zat = [&](int64_t j) -> T { return off != nullptr ? xr[j] - off[j] : xr[j]; };

  // Pass 1: finiteness (z * 0 is NaN exactly for NaN / inf) and the row max of z.
  T nf = T(0), mz = -inf;
  for (int64_t j = t0; j < N; j += step) {
    const T z = zat(j);
    nf += z * T(0);
    mz = z > mz ? z : mz;
  }
  nf = block_sum(nf, red);
  if (nf != nf) {  // uniform across the block
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (int64_t j = t0; j < N; j += step) o[j] = nan;
    if (threadIdx.x == 0) row_loss[i] = nan;
    return;
  }
  T inv_sz = T(0), log_sz = T(0);
  if (rowwise) {
    mz = block_max(mz, red);
    T sz = T(0);
    for (int64_t j = t0; j < N; j += step) sz += exp(zat(j) - mz);
    sz = block_sum(sz, red);
    inv_sz = T(1) / sz;
    log_sz = log(sz);
  }
  // Pass 2: y into the output row.
  for (int64_t j = t0; j < N; j += step) {
    const T z = zat(j);
    T y;
    if (p.act == ACT_SOFTMAX) y = exp(z - mz) * inv_sz;
    else if (p.act == ACT_SOFTMAX_LOGIT) y = (mz - z) + log_sz;  // exact near the max
    else y = act_forward<T>(p.act, z, p.a, p.b);
    o[j] = y;
  }
  __syncthreads();
  const T d = o[i];

  // Pass 3: row statistics of the loss.
  T L = T(0), dd = T(0);
  T m = -inf, inv_se = T(0), S1 = T(0), inv_p = T(0), R = T(0), Tot = T(0);
  const bool max_loss = p.loss == LOSS_BPR_MAX || p.loss == LOSS_TOP1_MAX;
  const T inv_n = T(1) / T(N);
  if (max_loss && N == 1) {
    // No negatives: bpr-max is -log(1e-24), top1-max 0, no gradient.
    L = p.loss == LOSS_BPR_MAX ? bpr_max_loss_without_negatives<T>() : T(0);
    if (threadIdx.x == 0) {
      row_loss[i] = L;
      o[0] = T(0);
    }
    return;
  }
  if (max_loss) {
    for (int64_t j = t0; j < N; j += step)
      if (j != i) m = o[j] > m ? o[j] : m;
    m = block_max(m, red);
    T se = T(0);
    for (int64_t j = t0; j < N; j += step)
      if (j != i) se += exp(o[j] - m);
    inv_se = T(1) / block_sum(se, red);
  }
  switch (p.loss) {
    case LOSS_CROSS_ENTROPY: {
      T sum_log = T(0);
      if (p.w_all != T(0)) {
        T acc = T(0);
        for (int64_t j = t0; j < N; j += step) acc += xe_log_term(o[j]);
        sum_log = block_sum(acc, red);
      }
      L = xe_loss(p.w_pos, xe_log_term(d), p.w_all, sum_log);
      break;
    }
    case LOSS_XE_LOGIT: {
      T sum_y = T(0);
      if (p.w_all != T(0)) {
        T acc = T(0);
        for (int64_t j = t0; j < N; j += step) acc += o[j];
        sum_y = block_sum(acc, red);
      }
      L = xe_logit_loss(p.w_pos, d, p.w_all, sum_y);
      break;
    }
    case LOSS_BPR: {
      T acc = T(0), gs = T(0);
      for (int64_t j = t0; j < N; j += step) {
        const T u = d - o[j];
        const T e = exp_neg_abs(u);
        acc += bpr_term_from_exp(u, e);
        gs += bpr_grad_from_exp(u, e);
      }
      L = block_sum(acc, red);
      dd = -block_sum(gs, red);  // dL/dd = -sum_j dL/dy_j
      break;
    }
    case LOSS_BPR_MAX: {
      T s1 = T(0), q = T(0), r = T(0);
      for (int64_t j = t0; j < N; j += step) {
        if (j == i) continue;
        const T y = o[j];
        const T s = exp(y - m) * inv_se;
        T sg, dsg;
        sigmoid_pair(d - y, sg, dsg);
        s1 += s * sg;
        q += s * dsg;
        r += s * y * y;
      }
      S1 = block_sum(s1, red);
      q = block_sum(q, red);
      R = block_sum(r, red);
      const T P = bpr_max_p(S1);
      inv_p = T(1) / P;
      L = bpr_max_loss(P, p.bpreg, R);
      dd = bpr_max_grad_positive(q, inv_p);
      break;
    }
    case LOSS_TOP1: {
      T sa = T(0), sb = T(0), sda = T(0);
      for (int64_t j = t0; j < N; j += step) {
        const T y = o[j];
        T a, da, b, db;
        sigmoid_pair(y - d, a, da);
        sigmoid_pair(y * y, b, db);
        sa += a;
        sb += b;
        sda += da;
      }
      sa = block_sum(sa, red);
      sb = block_sum(sb, red);
      sda = block_sum(sda, red);
      T sd, dsd;
      sigmoid_pair(d * d, sd, dsd);
      L = top1_loss(inv_n, sa, sb, sd);
      dd = top1_grad_positive(inv_n, sda, d, dsd);
      break;
    }
    case LOSS_TOP1_MAX: {
      T tot = T(0), sda = T(0);
      for (int64_t j = t0; j < N; j += step) {
        if (j == i) continue;
        const T y = o[j];
        const T s = exp(y - m) * inv_se;
        T a, da, b, db;
        sigmoid_pair(y - d, a, da);
        sigmoid_pair(y * y, b, db);
        tot += s * (a + b);
        sda += s * da;
      }
      Tot = block_sum(tot, red);
      L = Tot;
      dd = top1_max_grad_positive(block_sum(sda, red));
      break;
    }
    default:  // the entry point checks the code: reaching here is a bug
      CUDA_KERNEL_ASSERT(false && "fused_loss: unknown loss code");
  }

  // Every thread has read d = o[i] (and, for the max losses, the other y) before pass 4
  // overwrites o with the gradient. Without this barrier cross-entropy and xe_logit
  // (smoothing 0: no block reduction in pass 3) let the positive's owner overwrite o[i]
  // first, and thread 0 writes a wrong row loss: the CUDA emulation showed it.
  __syncthreads();
  // Pass 4: g = dL/dy (+ dL/dd at the positive); element-wise activations chain at once.
  T chain_acc = T(0);
  for (int64_t j = t0; j < N; j += step) {
    const T y = o[j];
    T g = T(0);
    switch (p.loss) {
      case LOSS_CROSS_ENTROPY:
        g = p.w_all != T(0) ? xe_grad(p.w_all, y) : T(0);
        if (j == i) g += xe_grad(p.w_pos, d);
        break;
      case LOSS_XE_LOGIT:
        g = xe_logit_grad(p.w_all, p.w_pos, j == i);
        break;
      case LOSS_BPR: {
        const T u = d - y;
        g = bpr_grad_from_exp(u, exp_neg_abs(u));
        break;
      }
      case LOSS_BPR_MAX: {
        const T s = j == i ? T(0) : exp(y - m) * inv_se;
        T sg, dsg;
        sigmoid_pair(d - y, sg, dsg);
        g = bpr_max_grad(s, sg, dsg, y, S1, inv_p, p.bpreg, R);
        break;
      }
      case LOSS_TOP1: {
        T a, da, b, db;
        sigmoid_pair(y - d, a, da);
        sigmoid_pair(y * y, b, db);
        g = top1_grad(inv_n, da, y, db);
        break;
      }
      case LOSS_TOP1_MAX: {
        const T s = j == i ? T(0) : exp(y - m) * inv_se;
        T a, da, b, db;
        sigmoid_pair(y - d, a, da);
        sigmoid_pair(y * y, b, db);
        g = top1_max_grad(s, a, b, Tot, da, y, db);
        break;
      }
      default:
        CUDA_KERNEL_ASSERT(false && "fused_loss: unknown loss code");
    }
    if (j == i) g += dd;
    if (!rowwise) {
      const T z = zat(j);
      // act' from csrc/common/activations.h: its convention at z == 0 (the negative
      // side, as torch) is every kernel's.
      const T dz = g * act_derivative<T>(p.act, z, y, p.a, p.b);
      o[j] = dz * p.scale;
    } else {
      chain_acc += p.act == ACT_SOFTMAX ? y * g : g;
      o[j] = g;
    }
  }
  if (rowwise) {
    // Pass 5: softmax dz_j = y_j (g_j - sum_k y_k g_k); softmax_logit dz_j = p_j sum_k g_k - g_j.
    chain_acc = block_sum(chain_acc, red);
    for (int64_t j = t0; j < N; j += step) {
      const T pj = exp(zat(j) - mz) * inv_sz;
      const T g = o[j];
      o[j] = (p.act == ACT_SOFTMAX ? pj * (g - chain_acc) : pj * chain_acc - g) * p.scale;
    }
  }
  if (threadIdx.x == 0) row_loss[i] = L;
}

// loss = scale * sum of the row losses, summed in double in a fixed order.
template <typename T>
__global__ void sum_row_losses_kernel(const T* __restrict__ row_loss, int64_t B, double scale,
                                      T* __restrict__ loss) {
  __shared__ double red[32];
  double acc = 0.0;
  for (int64_t r = threadIdx.x; r < B; r += blockDim.x) acc += double(row_loss[r]);
  acc = block_sum(acc, red);
  if (threadIdx.x == 0) loss[0] = static_cast<T>(acc * scale);
}

}  // namespace fused_loss_kernels
}  // namespace gru4rec
