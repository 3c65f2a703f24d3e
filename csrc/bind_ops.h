// Python bindings of the ops that have CPU and CUDA kernels, shared by the product
// module (csrc/bindings.cpp) and the CUDA emulation module of the tests
// (csrc/emu/emu_module.cpp), so both expose the same names and signatures.
#pragma once
#include <torch/extension.h>

#include "cdf_sample.h"
#include "eval_rank.h"
#include "fused_loss.h"
#include "gru_step.h"
#include "sampled_scores.h"
#include "sparse_row_update.h"
#include "topk_scores.h"

namespace gru4rec {

inline void bind_ops(pybind11::module& m) {
  namespace py = pybind11;
  namespace g = gru4rec;
  m.def("sampled_scores_forward", &g::sampled_scores_forward, py::arg("H"), py::arg("W"),
        py::arg("b"), py::arg("Y"));
  m.def("sampled_scores_backward", &g::sampled_scores_backward, py::arg("dS"), py::arg("H"),
        py::arg("W"), py::arg("Y"));

  m.def("fused_loss_fwd_bwd", &g::fused_loss_fwd_bwd, py::arg("scores"), py::arg("col_offset"),
        py::arg("loss"), py::arg("final_act"), py::arg("act_a"), py::arg("act_b"),
        py::arg("bpreg"), py::arg("smoothing"), py::arg("scale"));

  m.def("sparse_row_update_", &g::sparse_row_update_, py::arg("param"), py::arg("ids"),
        py::arg("grads"), py::arg("state1"), py::arg("state2"), py::arg("velocity"),
        py::arg("step_count"), py::arg("optimizer"), py::arg("lr"), py::arg("momentum"),
        py::arg("lmbd"), py::arg("eps"), py::arg("p1"), py::arg("p2"),
        py::arg("deterministic"));

  m.def("gru_step_forward", &g::gru_step_forward, py::arg("vx"), py::arg("h"), py::arg("Wrz"),
        py::arg("Wh"), py::arg("reset"), py::arg("keep_mask"), py::arg("act"), py::arg("act_a"),
        py::arg("act_b"));
  m.def("gru_step_backward", &g::gru_step_backward, py::arg("dout"), py::arg("saved"),
        py::arg("Wrz"), py::arg("Wh"), py::arg("reset"), py::arg("keep_mask"), py::arg("act"),
        py::arg("act_a"), py::arg("act_b"));

  m.def("eval_rank_counts", &g::eval_rank_counts, py::arg("H"), py::arg("W"), py::arg("b"),
        py::arg("targets"), py::arg("candidates"), py::arg("final_act"), py::arg("act_a"),
        py::arg("act_b"), py::arg("noise_scale"), py::arg("noise_seed"), py::arg("tile_size"));

  m.def("cdf_sample", &g::cdf_sample, py::arg("cdf"), py::arg("k"), py::arg("seed"),
        py::arg("offset"));
  m.def("cdf_search", &g::cdf_search, py::arg("cdf"), py::arg("uniforms"));

  m.def("topk_scores", &g::topk_scores, py::arg("H"), py::arg("W"), py::arg("b"),
        py::arg("candidates"), py::arg("exclude_offsets"), py::arg("exclude_ids"), py::arg("k"),
        py::arg("final_act"), py::arg("act_a"), py::arg("act_b"), py::arg("tile_size"));
}

}  // namespace gru4rec
