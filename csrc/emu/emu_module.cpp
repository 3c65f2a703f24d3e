// gru4rec_fast_cuda_emu: the CUDA kernels (and the C++ training loop driving them) of csrc/cuda/kernels/ run on CPU tensors by the
// emulation of csrc/emu/cuda_emu.h, behind the real argument checks (csrc/<op>.cpp), as
// the operators torch.ops.gru4rec_fast_emu.* (the same schemas as gru4rec_fast, from
// csrc/op_schemas.h; a second library cannot define the namespace gru4rec_fast again)
// whose CPU kernels are the emulated CUDA launchers. Built by the tests
// (tests/cuda_emu.py), never by setup.py. One translation unit (besides the scheduler)
// because each TU that includes the torch headers costs tens of seconds on CI's 2 cores.
#include <torch/extension.h>

#include <torch/library.h>
#include "emu/loss_terms_check.h"

#include "bind_train_loop.h"
#include "common/library_impl.h"
#include "eval_rank.h"
#include "op_schemas.h"

// The argument checks and run_<op> of every op.
#include "cdf_sample.cpp"
#include "eval_rank.cpp"
#include "fused_loss.cpp"
#include "gru_step.cpp"
#include "sampled_scores.cpp"
#include "sparse_row_update.cpp"
#include "topk_scores.cpp"
#include "train_loop.cpp"
#include "emu/cpu_kernels_unreachable.h"

// The launchers, on the emulation (these include the kernel headers, and with them the
// CUDA vocabulary macros of cuda_emu.h: nothing below may include torch headers).
#include "emu/cdf_sample_emu.h"
#include "emu/eval_rank_emu.h"
#include "emu/fused_loss_emu.h"
#include "emu/gru_step_emu.h"
#include "emu/sampled_scores_emu.h"
#include "emu/sparse_row_update_emu.h"
#include "emu/topk_scores_emu.h"

namespace g = gru4rec;

TORCH_LIBRARY(gru4rec_fast_emu, m) {
  for (const char* schema : g::kOpSchemas) m.def(schema);
}

// The emulated CUDA launchers (csrc/emu/*_emu.h) are these ops' CPU kernels.
TORCH_LIBRARY_IMPL(gru4rec_fast_emu, CPU, m) {
  G4R_IMPL(m, "sampled_scores_forward", run_sampled_scores_forward, sampled_scores_forward_cuda);
  G4R_IMPL(m, "sampled_scores_backward", run_sampled_scores_backward, sampled_scores_backward_cuda);
  G4R_IMPL(m, "fused_loss_fwd_bwd", run_fused_loss_fwd_bwd, fused_loss_fwd_bwd_cuda);
  G4R_IMPL(m, "sparse_row_update_", run_sparse_row_update_, sparse_row_update_cuda_);
  G4R_IMPL(m, "gru_step_forward", run_gru_step_forward, gru_step_forward_cuda);
  G4R_IMPL(m, "gru_step_backward", run_gru_step_backward, gru_step_backward_cuda);
  G4R_IMPL(m, "eval_rank_counts", run_eval_rank_counts, eval_rank_counts_cuda);
  G4R_IMPL(m, "cdf_sample", run_cdf_sample, cdf_sample_cuda);
  G4R_IMPL(m, "cdf_search", run_cdf_search, cdf_search_cuda);
  G4R_IMPL(m, "topk_scores", run_topk_scores, topk_scores_cuda);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "gru4rec_fast's CUDA kernels on the CPU emulation of the CUDA execution model "
            "(tests only; CPU tensors in, CPU tensors out)";
  m.def("with_cuda", []() { return true; }, "the emulated ops run the CUDA kernels");
  m.attr("ops_namespace") = "gru4rec_fast_emu";
  g::bind_train_loop(m, pybind11::module_local());
  // gru4rec_fast._C's allocator of the item tables (csrc/cpu/huge_page_alloc.h), which
  // gru4rec_fast/model/huge_pages.py calls: the emulated device's memory is ordinary.
  m.def("empty_huge_pages", [](at::IntArrayRef size, at::ScalarType dtype) {
    return at::empty(size, at::TensorOptions().dtype(dtype));
  }, pybind11::arg("size"), pybind11::arg("dtype"));
  m.def("set_schedule_seed", [](uint64_t seed) { g4r_emu::set_schedule_seed(seed); },
        pybind11::arg("seed"),
        "seed of the random thread order between barriers (also resets the counters)");
  m.def("schedule_seed", []() { return g4r_emu::schedule_seed(); });
  m.def("stats", []() {
    const auto s = g4r_emu::stats();
    return std::map<std::string, uint64_t>{{"launches", s.launches}, {"blocks", s.blocks},
                                           {"threads", s.threads}, {"switches", s.switches}};
  }, "launches, blocks, threads and fiber switches since the last set_schedule_seed");
  g::loss_terms_check::bind(m);
  m.def("fused_loss_fwd_bwd_unchecked", &g::fused_loss_fwd_bwd_cuda,
        "the emulated CUDA launcher of fused_loss without the entry point's checks (tests "
        "of the kernel's own rule for unknown codes)");
  m.def("eval_rank_launch_config", [](int64_t B, int64_t d, int64_t n_cols, bool float64) {
    const auto c = float64 ? g::eval_rank_kernels::launch_config<double>(B, d, n_cols)
                           : g::eval_rank_kernels::launch_config<float>(B, d, n_cols);
    return std::map<std::string, int64_t>{
        {"grid_x", c.grid_x}, {"grid_y", c.grid_y},
        {"dynamic_bytes", static_cast<int64_t>(c.dynamic_bytes)},
        {"static_bytes", static_cast<int64_t>(c.static_bytes)}, {"needs_optin", c.needs_optin}};
  }, pybind11::arg("B"), pybind11::arg("d"), pybind11::arg("n_cols"), pybind11::arg("float64"),
     "eval_rank_counts_kernel's launch configuration, as the CUDA launcher computes it");
}
