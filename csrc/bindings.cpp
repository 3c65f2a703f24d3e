// The one translation unit that sees pybind11 and <torch/extension.h>: every op's
// .cpp/.cu includes only ATen headers, which keeps each compile short (docs/development.md).
#include <torch/extension.h>

#include "bind_train_loop.h"
#include "common/code_tables.h"
#include "cpu/dense_update_cpu.h"
#include "cpu/dropout_mask_cpu.h"
#include "cpu/huge_page_alloc.h"
#include "cpu/sparse_row_update_cpu.h"

namespace g = gru4rec;

namespace {

template <typename T, std::size_t N>
py::list names(const T (&table)[N]) {
  py::list out;
  for (const T& entry : table) out.append(g::name_of(entry));
  return out;
}

py::dict code_tables() {
  py::dict t;
  py::list acts;
  for (const g::ActivationInfo& a : g::kActivations) acts.append(py::make_tuple(a.name, a.n_params));
  t["activations"] = acts;  // (name, n_params)
  t["n_hidden_activations"] = g::kNumHiddenActivations;
  t["losses"] = names(g::kLossNames);
  py::list opts;
  for (const g::OptimizerInfo& o : g::kOptimizers) {
    py::list states;
    if (o.uses_s1) states.append(g::kStateNames[g::STATE_S1]);
    if (o.uses_s2) states.append(g::kStateNames[g::STATE_S2]);
    if (o.uses_steps) states.append(g::kStateNames[g::STATE_STEPS]);
    opts.append(py::make_tuple(o.name, py::make_tuple(o.p1, o.p2), py::tuple(states)));
  }
  t["optimizers"] = opts;  // (name, default (p1, p2), state tensors besides velocity)
  t["state_names"] = names(g::kStateNames);
  t["embedding_modes"] = names(g::kEmbeddingModeNames);
  t["rank_modes"] = names(g::kRankModeNames);
  t["item_tables"] = names(g::kItemTableNames);
  t["layer_weights"] = names(g::kLayerWeightBases);
  return t;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "gru4rec_fast compiled kernels (CPU always, CUDA when built with it)";
  m.def("with_cuda", []() {
#ifdef WITH_CUDA
    return true;
#else
    return false;
#endif
  }, "True when the CUDA kernels were compiled into this extension");

  // The ops themselves are torch.ops.<ops_namespace>.* (csrc/library.cpp), registered
  // with the dispatcher when this module loads; Python adds fake kernels and autograd.
  m.attr("ops_namespace") = "gru4rec_fast";

  m.def("code_tables", &code_tables,
        "the fixed tables of csrc/common/code_tables.h (codes are list positions); "
        "gru4rec_fast/ops/_codes.py is generated from this (scripts/gen_codes.py)");

  g::bind_train_loop(m);

  // gru4rec_fast/model/huge_pages.py allocates the item tables through these.
  m.def("empty_huge_pages", &g::empty_huge_pages, py::arg("size"), py::arg("dtype"),
        "an uninitialised contiguous CPU tensor, on transparent huge pages (2 MiB-aligned "
        "anonymous mmap, MADV_HUGEPAGE) when it is large enough and GRU4REC_FAST_HUGE_PAGES "
        "is not 0; else at::empty (csrc/cpu/huge_page_alloc.h)");
  m.def("huge_pages_enabled", &g::huge_pages_enabled,
        "False when GRU4REC_FAST_HUGE_PAGES=0 or on a non-Linux build");
  m.attr("huge_page_bytes") = g::kHugePageBytes;
  m.attr("huge_page_min_bytes") = g::kHugePageMinBytes;

  // For tests only (tests/ops/test_sparse_row_update.py): the training loop's one-pass
  // update of the output table and its bias. Each state is (s1, s2, velocity, steps).
  m.def("_sparse_row_update_with_bias_cpu_",
        [](at::Tensor param, at::Tensor grads, std::vector<at::Tensor> state, at::Tensor bias,
           at::Tensor bias_grads, std::vector<at::Tensor> bias_state,
           std::optional<at::Tensor> lead_ids, at::Tensor ids, int64_t optimizer, double lr,
           double momentum, double lmbd, double eps, double p1, double p2) {
          TORCH_CHECK(state.size() == 4 && bias_state.size() == 4,
                      "_sparse_row_update_with_bias_cpu_: states are (s1, s2, velocity, steps)");
          g::SparseRowTable rows{param, grads, state[0], state[1], state[2], state[3]};
          g::SparseRowTable b{bias, bias_grads, bias_state[0], bias_state[1], bias_state[2],
                              bias_state[3]};
          g::sparse_row_update_with_bias_cpu_(rows, b, lead_ids.value_or(at::Tensor()), ids,
                                              optimizer, lr, momentum, lmbd, eps, p1, p2);
        });

  // For tests and benches only (tests/ops/test_dense_update.py): the training loop's
  // dense step of a GRU weight. state is (s1, s2, velocity, steps).
  m.def("_dense_update_cpu_",
        [](at::Tensor param, at::Tensor grads, std::vector<at::Tensor> state, int64_t optimizer,
           double lr, double momentum, double lmbd, double eps, double p1, double p2) {
          TORCH_CHECK(state.size() == 4, "_dense_update_cpu_: state is (s1, s2, velocity, steps)");
          TORCH_CHECK(param.device().is_cpu() && grads.device().is_cpu() &&
                          grads.scalar_type() == param.scalar_type() &&
                          grads.sizes() == param.sizes(),
                      "_dense_update_cpu_: param and grads must be CPU tensors of one dtype and shape");
          g::SparseRowTable t{param, grads.contiguous(), state[0], state[1], state[2], state[3]};
          g::dense_update_cpu_(t, optimizer, lr, momentum, lmbd, eps, p1, p2);
        });

  // For tests only (tests/ops/test_dropout_mask.py): the training loop's CPU dropout
  // mask, a fresh rows x cols tensor of `dtype` drawn from `generator`.
  m.def("_dropout_keep_mask_cpu",
        [](int64_t rows, int64_t cols, at::ScalarType dtype, at::Generator generator, double keep) {
          TORCH_CHECK(rows >= 0 && cols >= 0, "_dropout_keep_mask_cpu: negative size");
          at::Tensor m = at::empty({rows, cols}, at::TensorOptions().dtype(dtype));
          g::dropout_keep_mask_cpu_(m, generator, keep);
          return m;
        });
}
