// The one translation unit that sees pybind11 and <torch/extension.h>: every op's
// .cpp/.cu includes only ATen headers, which keeps each compile short (docs/development.md).
#include <torch/extension.h>

#include "bind_ops.h"
#include "bind_train_loop.h"

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

  g::bind_ops(m);

  g::bind_train_loop(m);
}
