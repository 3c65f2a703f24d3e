// The one translation unit that sees pybind11 and <torch/extension.h>: every op's
// .cpp/.cu includes only ATen headers, which keeps each compile short (docs/development.md).
#include <torch/extension.h>

#include "bind_train_loop.h"
#include "cpu/gather_rows_cpu.h"

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

  // The ops themselves are torch.ops.<ops_namespace>.* (csrc/library.cpp), registered
  // with the dispatcher when this module loads; Python adds fake kernels and autograd.
  m.attr("ops_namespace") = "gru4rec_fast";

  m.def("gather_rows_cpu", &g::gather_rows_cpu, py::arg("W"), py::arg("ids"),
        "W[ids] along dim 0 with prefetching (CPU; the training loop's gather)");

  g::bind_train_loop(m);
}
