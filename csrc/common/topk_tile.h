// One item tile of topk_scores' CUDA launcher (csrc/cuda/topk_scores_cuda.cu) and its
// CPU emulation (csrc/emu/topk_scores_emu.h), written once: the raw logits H.W_j + b_j of
// columns [c0, c0 + m), where the columns are W's rows or, when given, the candidates.
// Host code on ATen calls (cuBLAS on a GPU, the CPU GEMM under the emulation).
#pragma once
#include <ATen/ATen.h>

namespace gru4rec {

struct TopkTile {
  at::Tensor logits;  // B x m, contiguous
  at::Tensor ids;     // the tile's item ids (candidates[c0 : c0 + m]); undefined without candidates
};

inline TopkTile topk_tile_logits(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b,
                                 const at::Tensor& candidates, int64_t c0, int64_t m) {
  TopkTile t;
  at::Tensor Wt, bt;
  if (candidates.numel() > 0) {
    t.ids = candidates.narrow(0, c0, m);
    Wt = W.index_select(0, t.ids);
    bt = b.index_select(0, t.ids);
  } else {
    Wt = W.narrow(0, c0, m);
    bt = b.narrow(0, c0, m);
  }
  t.logits = at::addmm(bt, H, Wt.t()).contiguous();
  return t;
}

}  // namespace gru4rec
