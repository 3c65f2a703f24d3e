// CPU top-k: items are cut into tiles of tile_size columns; each parallel task scores
// its tiles in GEMMs of an L2-sized B x width block (the only score matrix that ever
// exists; width depends on B, not on the thread count) and keeps, per row, a bounded
// heap of its k best (logit, id) pairs. The tasks' heaps are
// merged at the end. The order (logit descending, then id ascending) is total, so the
// result does not depend on how tiles are split among threads.
//
// Row-wise activations need each row's log-sum-exp over all columns: each tile stores
// its per-row (max, sum of exp) in a tile-indexed slot and the slots are combined in
// tile order afterwards, so that value is also independent of the thread count.
#include "topk_scores_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/mm.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "common/activations.h"
#include "common/enums.h"

namespace gru4rec {

namespace {

// Scores per GEMM (B x width): 512 KiB of float32, about half an L2 cache.
constexpr int64_t kGemmTileScores = int64_t(1) << 17;

template <typename T>
struct Entry {
  T logit;
  int64_t id;
};

// a ranks before b: higher logit, ties to the lower id.
template <typename T>
inline bool ranks_before(const Entry<T>& a, const Entry<T>& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// The k best entries of one row as a heap whose front is the worst of them.
template <typename T>
struct RowTopK {
  std::vector<Entry<T>> heap;

  // Worth a closer look: the heap is not full, or e beats its worst entry.
  inline bool admits(const Entry<T>& e, size_t k) const {
    return heap.size() < k || ranks_before(e, heap.front());
  }

  // Insert e (admits() must hold). With unique=false the caller guarantees that no id
  // repeats (all items in order), which skips the scan for duplicates.
  void insert(const Entry<T>& e, size_t k, bool unique) {
    if (!unique) {
      for (auto& x : heap) {
        if (x.id == e.id) {  // a duplicate candidate: keep the better copy only
          if (ranks_before(e, x)) {
            x = e;
            std::make_heap(heap.begin(), heap.end(), ranks_before<T>);
          }
          return;
        }
      }
    }
    if (heap.size() < k) {
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), ranks_before<T>);
    } else {
      std::pop_heap(heap.begin(), heap.end(), ranks_before<T>);
      heap.back() = e;
      std::push_heap(heap.begin(), heap.end(), ranks_before<T>);
    }
  }
};

inline bool is_excluded(const int64_t* off, const int64_t* ex, int64_t row, int64_t id) {
  if (off == nullptr) return false;
  for (int64_t j = off[row]; j < off[row + 1]; ++j)
    if (ex[j] == id) return true;
  return false;
}

template <typename T>
void topk_scores_typed(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b,
                       const at::Tensor& candidates, const at::Tensor& exclude_offsets,
                       const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a,
                       double act_b, int64_t tile_size, at::Tensor& scores, at::Tensor& ids) {
  const int64_t B = H.size(0);
  const bool has_cand = candidates.numel() > 0;
  const int64_t n_cols = has_cand ? candidates.numel() : W.size(0);
  const int64_t n_tiles = (n_cols + tile_size - 1) / tile_size;
  const int64_t* cand = has_cand ? candidates.data_ptr<int64_t>() : nullptr;
  const int64_t* off = exclude_offsets.numel() > 0 ? exclude_offsets.data_ptr<int64_t>() : nullptr;
  const int64_t* ex = exclude_ids.numel() > 0 ? exclude_ids.data_ptr<int64_t>() : nullptr;
  const bool rowwise = is_rowwise_activation(final_act);
  const size_t kk = static_cast<size_t>(k);
  // Per (tile, row) max and sum of exp(logit - max), for the log-sum-exp.
  std::vector<double> tile_max(rowwise ? n_tiles * B : 0), tile_sum(rowwise ? n_tiles * B : 0);

  std::vector<RowTopK<T>> best(B);
  std::mutex merge;
  // At least kMinTaskWork multiply-adds per task: a small request (one row against a
  // few thousand items) then runs inline, without waking a thread pool whose wake-up
  // can cost more than the work (a scheduler slice on a busy machine).
  constexpr int64_t kMinTaskWork = int64_t(1) << 24;
  const int64_t tile_work = std::max<int64_t>(1, B * std::min(tile_size, n_cols) * H.size(1));
  const int64_t grain = std::max<int64_t>(1, (kMinTaskWork + tile_work - 1) / tile_work);
  // Each tile is scored in GEMMs of `width` items, so that the B x width scores stay in
  // the L2 cache between the GEMM writing them and the scan reading them.
  const int64_t width = std::min(tile_size, std::clamp<int64_t>(kGemmTileScores / B / 16 * 16, 64, 4096));
  const int64_t d = H.size(1);
  const T* w = W.data_ptr<T>();
  const T* bias = b.data_ptr<T>();
  at::parallel_for(0, n_tiles, grain, [&](int64_t t_begin, int64_t t_end) {
    std::vector<RowTopK<T>> local(B);
    std::vector<T> logits(static_cast<size_t>(B * width));
    std::vector<T> wbuf(has_cand ? static_cast<size_t>(width * d) : 0), bbuf(has_cand ? width : 0);
    std::vector<double> row_max(rowwise ? B : 0), row_sum(rowwise ? B : 0);
    for (int64_t t = t_begin; t < t_end; ++t) {
      const int64_t tile_end = std::min(n_cols, (t + 1) * tile_size);
      if (rowwise) {
        std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<double>::infinity());
        std::fill(row_sum.begin(), row_sum.end(), 0.0);
      }
      for (int64_t c0 = t * tile_size; c0 < tile_end; c0 += width) {
        const int64_t m = std::min(width, tile_end - c0);
        const T* wt;
        const T* bt;
        if (has_cand) {
          for (int64_t c = 0; c < m; ++c) {
            std::memcpy(wbuf.data() + c * d, w + cand[c0 + c] * d, sizeof(T) * d);
            bbuf[c] = bias[cand[c0 + c]];
          }
          wt = wbuf.data();
          bt = bbuf.data();
        } else {
          wt = w + c0 * d;
          bt = bias + c0;
        }
        // Inside a parallel region at::mm runs on this thread only.
        at::Tensor L = at::from_blob(logits.data(), {B, m}, H.options());
        at::mm_out(L, H, at::from_blob(const_cast<T*>(wt), {m, d}, W.options()).t());
        for (int64_t r = 0; r < B; ++r) {
          T* row = logits.data() + r * m;
          for (int64_t c = 0; c < m; ++c) row[c] += bt[c];  // the logit: dot + bias
          RowTopK<T>& h = local[r];
          // Fast scan: a logit below the current k-th best can never enter, and after the
          // first few items almost none passes, so the loop is a compare per item.
          T thr = h.heap.size() < kk ? -std::numeric_limits<T>::infinity() : h.heap.front().logit;
          for (int64_t c = 0; c < m; ++c) {
            if (row[c] < thr) continue;
            const Entry<T> e{row[c], has_cand ? cand[c0 + c] : c0 + c};
            if (e.logit != e.logit || !h.admits(e, kk)) continue;  // NaN logits never rank
            if (is_excluded(off, ex, r, e.id)) continue;
            h.insert(e, kk, !has_cand);
            if (h.heap.size() == kk) thr = h.heap.front().logit;
          }
          if (rowwise) {
            // Running (max, sum of exp(logit - max)) over the tile's GEMMs, in item order.
            double mx = -std::numeric_limits<double>::infinity();
            for (int64_t c = 0; c < m; ++c) mx = std::max(mx, static_cast<double>(row[c]));
            if (!std::isfinite(mx)) continue;
            double s = 0.0;
            for (int64_t c = 0; c < m; ++c) s += std::exp(static_cast<double>(row[c]) - mx);
            if (mx > row_max[r]) {
              row_sum[r] = s + (std::isfinite(row_max[r]) ? row_sum[r] * std::exp(row_max[r] - mx) : 0.0);
              row_max[r] = mx;
            } else {
              row_sum[r] += s * std::exp(mx - row_max[r]);
            }
          }
        }
      }
      if (rowwise)
        for (int64_t r = 0; r < B; ++r) {
          tile_max[t * B + r] = row_max[r];
          tile_sum[t * B + r] = row_sum[r];
        }
    }
    std::lock_guard<std::mutex> lock(merge);
    for (int64_t r = 0; r < B; ++r)
      for (const auto& e : local[r].heap)
        if (best[r].admits(e, kk)) best[r].insert(e, kk, !has_cand);
  });

  T* sp = scores.data_ptr<T>();
  int64_t* ip = ids.data_ptr<int64_t>();
  const T a = static_cast<T>(act_a), bb = static_cast<T>(act_b);
  for (int64_t r = 0; r < B; ++r) {
    double lse = 0.0;
    if (rowwise) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t t = 0; t < n_tiles; ++t) mx = std::max(mx, tile_max[t * B + r]);
      double s = 0.0;
      if (std::isfinite(mx))
        for (int64_t t = 0; t < n_tiles; ++t) s += tile_sum[t * B + r] * std::exp(tile_max[t * B + r] - mx);
      lse = mx + std::log(s);
    }
    auto& h = best[r].heap;
    std::sort(h.begin(), h.end(), ranks_before<T>);
    for (int64_t j = 0; j < k; ++j) {
      if (j < static_cast<int64_t>(h.size())) {
        const T x = h[j].logit;
        T s;
        if (final_act == ACT_SOFTMAX) s = static_cast<T>(std::exp(static_cast<double>(x) - lse));
        else if (final_act == ACT_SOFTMAX_LOGIT) s = static_cast<T>(lse - static_cast<double>(x));
        else s = act_forward<T>(final_act, x, a, bb);
        sp[r * k + j] = s;
        ip[r * k + j] = h[j].id;
      } else {
        sp[r * k + j] = std::numeric_limits<T>::quiet_NaN();
        ip[r * k + j] = -1;
      }
    }
  }
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> topk_scores_cpu(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& candidates, const at::Tensor& exclude_offsets, const at::Tensor& exclude_ids, int64_t k, int64_t final_act, double act_a, double act_b, int64_t tile_size) {
  const int64_t B = H.size(0);
  at::Tensor scores = at::empty({B, k}, H.options());
  at::Tensor ids = at::empty({B, k}, H.options().dtype(at::kLong));
  if (B == 0) return {scores, ids};
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "topk_scores_cpu", [&] {
    topk_scores_typed<scalar_t>(H, W, b, candidates, exclude_offsets, exclude_ids, k, final_act,
                                act_a, act_b, tile_size, scores, ids);
  });
  return {scores, ids};
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/topk_scores.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "topk_scores.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "topk_scores", run_topk_scores, topk_scores_cpu);
}
