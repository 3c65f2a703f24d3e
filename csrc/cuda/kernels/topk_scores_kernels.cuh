// Kernels of topk_scores (launched by csrc/cuda/topk_scores_cuda.cu; run on CPU by the
// CUDA emulation, csrc/emu/).
//
// merge_tile_kernel, one block per row, merges one tile of logits into the row's running
// list of the k best (logit, id) pairs. It selects in rounds: round j finds, over the
// running list and the tile, the best entry that ranks strictly after the one taken in
// round j-1 under the total order (logit descending, id ascending). That needs no marking
// of taken entries and gives the exact order with ties to the lower id. A winner that is
// excluded for the row, or whose id is already in the new list (a duplicate candidate),
// is passed over. The row-wise activations' log-sum-exp is accumulated per row, tile
// after tile, in tile order (deterministic).
#pragma once
#include <cmath>
#include <cstdint>

#include "common/activations.h"
#include "common/enums.h"

#include "cuda/portability.cuh"

namespace gru4rec {
namespace topk_scores_kernels {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ bool ranks_before(T la, int64_t ia, T lb, int64_t ib) {
  return la > lb || (la == lb && ia < ib);
}

// One block per row r. old_* hold the row's current list (old_cnt[r] entries, best
// first); the merged list goes to new_*. tile_ids: the tile's item ids, or nullptr for
// items c0, c0+1, ...
template <typename T>
__global__ void merge_tile_kernel(const T* __restrict__ L, int64_t m,
                                  const int64_t* __restrict__ tile_ids, int64_t c0,
                                  const T* __restrict__ old_l, const int64_t* __restrict__ old_id,
                                  const int32_t* __restrict__ old_cnt, T* __restrict__ new_l,
                                  int64_t* __restrict__ new_id, int32_t* __restrict__ new_cnt,
                                  int64_t k, const int64_t* __restrict__ ex_off,
                                  const int64_t* __restrict__ ex_ids, bool rowwise,
                                  double* __restrict__ run_max, double* __restrict__ run_sum) {
  __shared__ T sh_l[kThreads];
  __shared__ int64_t sh_id[kThreads];
  __shared__ bool sh_ok[kThreads];
  __shared__ double sh_d[kThreads];
  __shared__ int32_t sh_count;
  __shared__ T prev_l;
  __shared__ int64_t prev_id;
  __shared__ bool have_prev, done;

  const int64_t r = blockIdx.x;
  const int tid = threadIdx.x;
  const T* row = L + r * m;
  const int32_t n_old = old_cnt[r];
  const T* ol = old_l + r * k;
  const int64_t* oi = old_id + r * k;
  T* nl = new_l + r * k;
  int64_t* ni = new_id + r * k;

  if (rowwise) {
    double mx = -INFINITY;
    for (int64_t c = tid; c < m; c += kThreads) mx = fmax(mx, static_cast<double>(row[c]));
    sh_d[tid] = mx;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if (tid < s) sh_d[tid] = fmax(sh_d[tid], sh_d[tid + s]);
      __syncthreads();
    }
    const double tmax = sh_d[0];
    __syncthreads();
    double sum = 0.0;
    if (isfinite(tmax))
      for (int64_t c = tid; c < m; c += kThreads) sum += exp(static_cast<double>(row[c]) - tmax);
    sh_d[tid] = sum;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if (tid < s) sh_d[tid] += sh_d[tid + s];
      __syncthreads();
    }
    if (tid == 0 && isfinite(tmax)) {
      const double om = run_max[r], os = run_sum[r];
      const double nm = fmax(om, tmax);
      run_max[r] = nm;
      run_sum[r] = (isfinite(om) ? os * exp(om - nm) : 0.0) + sh_d[0] * exp(tmax - nm);
    }
    __syncthreads();
  }

  if (tid == 0) {
    sh_count = 0;
    have_prev = false;
    done = false;
  }
  __syncthreads();
  while (true) {
    // Each thread's best entry ranking strictly after prev, over the list and the tile.
    bool ok = false;
    T bl = T(0);
    int64_t bi = 0;
    const bool hp = have_prev;
    const T pl = prev_l;
    const int64_t pi = prev_id;
    for (int64_t j = tid; j < n_old + m; j += kThreads) {
      T l;
      int64_t id;
      if (j < n_old) {
        l = ol[j];
        id = oi[j];
      } else {
        const int64_t c = j - n_old;
        l = row[c];
        id = tile_ids ? tile_ids[c] : c0 + c;
      }
      if (l != l) continue;  // NaN logits never rank
      if (hp && !ranks_before(pl, pi, l, id)) continue;
      if (!ok || ranks_before(l, id, bl, bi)) {
        ok = true;
        bl = l;
        bi = id;
      }
    }
    sh_ok[tid] = ok;
    sh_l[tid] = bl;
    sh_id[tid] = bi;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if (tid < s && sh_ok[tid + s] &&
          (!sh_ok[tid] || ranks_before(sh_l[tid + s], sh_id[tid + s], sh_l[tid], sh_id[tid]))) {
        sh_ok[tid] = true;
        sh_l[tid] = sh_l[tid + s];
        sh_id[tid] = sh_id[tid + s];
      }
      __syncthreads();
    }
    if (tid == 0) {
      if (!sh_ok[0]) {
        done = true;
      } else {
        const T wl = sh_l[0];
        const int64_t wi = sh_id[0];
        bool skip = false;
        if (ex_off != nullptr)
          for (int64_t j = ex_off[r]; j < ex_off[r + 1] && !skip; ++j) skip = ex_ids[j] == wi;
        for (int32_t j = 0; j < sh_count && !skip; ++j) skip = ni[j] == wi;
        if (!skip) {
          nl[sh_count] = wl;
          ni[sh_count] = wi;
          sh_count += 1;
        }
        prev_l = wl;
        prev_id = wi;
        have_prev = true;
        done = sh_count >= k;
      }
    }
    __syncthreads();
    if (done) break;
  }
  if (tid == 0) new_cnt[r] = sh_count;
}

template <typename T>
__global__ void finish_kernel(const T* __restrict__ best_l, const int64_t* __restrict__ best_id,
                              const int32_t* __restrict__ cnt, int64_t B, int64_t k,
                              int64_t act, T a, T b, const double* __restrict__ run_max,
                              const double* __restrict__ run_sum, T* __restrict__ scores,
                              int64_t* __restrict__ ids) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= B * k) return;
  const int64_t r = i / k, j = i % k;
  if (j >= cnt[r]) {
    scores[i] = static_cast<T>(NAN);
    ids[i] = -1;
    return;
  }
  const T x = best_l[i];
  ids[i] = best_id[i];
  if (act == ACT_SOFTMAX || act == ACT_SOFTMAX_LOGIT) {
    const double lse = run_max[r] + log(run_sum[r]);
    scores[i] = act == ACT_SOFTMAX ? static_cast<T>(exp(static_cast<double>(x) - lse))
                                   : static_cast<T>(lse - static_cast<double>(x));
  } else {
    scores[i] = act_forward<T>(act, x, a, b);
  }
}

}  // namespace topk_scores_kernels
}  // namespace gru4rec
