// The emulation module compiles the C++ training loop (csrc/train_loop.cpp) with
// G4R_CUDA_EMU, where runs_cuda_kernels() is true for every tensor, so its CPU branch is
// never taken. It still names the CPU kernels; these definitions satisfy the linker and
// raise if that ever changes (the CPU kernels live in the product module, not here).
#pragma once
#include <ATen/ATen.h>

#include "cpu/cdf_sample_cpu.h"
#include "cpu/dense_update_cpu.h"
#include "cpu/dropout_mask_cpu.h"
#include "cpu/eval_rank_cpu.h"
#include "cpu/fused_loss_cpu.h"
#include "cpu/gather_rows_cpu.h"
#include "cpu/gru_step_cpu.h"
#include "cpu/sampled_scores_cpu.h"
#include "cpu/sparse_row_update_cpu.h"
#include "cpu/topk_scores_cpu.h"

#define G4R_EMU_NO_CPU(name) \
  TORCH_CHECK(false, name ": the CUDA emulation module has no CPU kernels (dispatch error)")

namespace gru4rec {

at::Tensor cdf_sample_cpu(const at::Tensor&, int64_t, int64_t, int64_t) { G4R_EMU_NO_CPU("cdf_sample"); }
at::Tensor cdf_search_cpu(const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("cdf_search"); }
void dropout_keep_mask_cpu_(at::Tensor&, const at::Generator&, double) { G4R_EMU_NO_CPU("dropout_keep_mask"); }
void dense_update_cpu_(SparseRowTable&, int64_t, double, double, double, double, double, double) { G4R_EMU_NO_CPU("dense_update_"); }
std::tuple<at::Tensor, at::Tensor> eval_rank_counts_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, double, double, int64_t, int64_t) { G4R_EMU_NO_CPU("eval_rank_counts"); }
std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cpu(const at::Tensor&, const at::Tensor&, int64_t, int64_t, double, double, double, double, double) { G4R_EMU_NO_CPU("fused_loss_fwd_bwd"); }
std::vector<at::Tensor> gru_step_forward_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, double) { G4R_EMU_NO_CPU("gru_step_forward"); }
std::vector<at::Tensor> gru_step_backward_cpu(const at::Tensor&, const std::vector<at::Tensor>&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, double) { G4R_EMU_NO_CPU("gru_step_backward"); }
std::vector<at::Tensor> gru_step_backward_no_dh_cpu(const at::Tensor&, const std::vector<at::Tensor>&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("gru_step_backward_no_dh"); }
at::Tensor gather_rows_cpu(const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("gather_rows"); }
std::tuple<at::Tensor, at::Tensor> sampled_scores_gather_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("sampled_scores_gather"); }
at::Tensor sampled_scores_from_rows_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("sampled_scores_from_rows"); }
at::Tensor sampled_scores_forward_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("sampled_scores_forward"); }
std::tuple<at::Tensor, at::Tensor, at::Tensor> sampled_scores_backward_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { G4R_EMU_NO_CPU("sampled_scores_backward"); }
void sparse_row_update_cpu_(at::Tensor&, const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&, at::Tensor&, at::Tensor&, int64_t, double, double, double, double, double, double, bool) { G4R_EMU_NO_CPU("sparse_row_update_"); }
void sparse_row_update_with_bias_cpu_(SparseRowTable&, SparseRowTable&, const at::Tensor&, const at::Tensor&, int64_t, double, double, double, double, double, double) { G4R_EMU_NO_CPU("sparse_row_update_with_bias"); }
std::tuple<at::Tensor, at::Tensor> topk_scores_cpu(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t, double, double, int64_t) { G4R_EMU_NO_CPU("topk_scores"); }

}  // namespace gru4rec
