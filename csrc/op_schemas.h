// The schema of every operator, written once: csrc/library.cpp defines them under the
// namespace gru4rec_fast (torch.ops.gru4rec_fast.<op>), the CUDA emulation of the tests
// (csrc/emu/emu_module.cpp) under gru4rec_fast_emu. `Tensor(a!)` marks a tensor the op
// writes in place; an empty tensor stands for "none" where an argument is optional.
// Fake kernels and autograd are registered in Python (gru4rec_fast/ops/*.py, `register`).
#pragma once

namespace gru4rec {

inline constexpr const char* kOpSchemas[] = {
    "sampled_scores_forward(Tensor H, Tensor W, Tensor b, Tensor Y) -> Tensor",
    "sampled_scores_backward(Tensor dS, Tensor H, Tensor W, Tensor Y) -> (Tensor, Tensor, Tensor)",
    "fused_loss_fwd_bwd(Tensor scores, Tensor col_offset, int loss, int final_act, float act_a, "
    "float act_b, float bpreg, float smoothing, float scale) -> (Tensor, Tensor)",
    "sparse_row_update_(Tensor(a!) param, Tensor ids, Tensor grads, Tensor(b!) state1, "
    "Tensor(c!) state2, Tensor(d!) velocity, Tensor(e!) step_count, int optimizer, float lr, "
    "float momentum, float lmbd, float eps, float p1, float p2, bool deterministic) -> ()",
    "gru_step_forward(Tensor vx, Tensor h, Tensor Wrz, Tensor Wh, Tensor reset, Tensor keep_mask, "
    "int act, float act_a, float act_b) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)",
    "gru_step_backward(Tensor dout, Tensor[] saved, Tensor Wrz, Tensor Wh, Tensor reset, "
    "Tensor keep_mask, int act, float act_a, float act_b) -> (Tensor, Tensor, Tensor, Tensor)",
    "eval_rank_counts(Tensor H, Tensor W, Tensor b, Tensor targets, Tensor candidates, "
    "int final_act, float act_a, float act_b, float noise_scale, int noise_seed, int tile_size) "
    "-> (Tensor, Tensor)",
    "cdf_sample(Tensor cdf, int k, int seed, int offset) -> Tensor",
    "cdf_search(Tensor cdf, Tensor uniforms) -> Tensor",
    "topk_scores(Tensor H, Tensor W, Tensor b, Tensor candidates, Tensor exclude_offsets, "
    "Tensor exclude_ids, int k, int final_act, float act_a, float act_b, int tile_size) "
    "-> (Tensor, Tensor)",
};

}  // namespace gru4rec
