// The one translation unit that sees pybind11 and <torch/extension.h>: every op's
// .cpp/.cu includes only ATen headers, which keeps each compile short (CONVENTIONS.md).
#include <torch/extension.h>

#include "cdf_sample.h"
#include "eval_rank.h"
#include "fused_loss.h"
#include "gru_step.h"
#include "sampled_scores.h"
#include "sparse_row_update.h"

namespace g = gru4rec;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "gru4rec_fast compiled kernels (CPU always, CUDA when built with it)";
  m.def("with_cuda", []() {
#ifdef WITH_CUDA
    return true;
#else
    return false;
#endif
  }, "True when the CUDA kernels were compiled into this extension");

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
}
