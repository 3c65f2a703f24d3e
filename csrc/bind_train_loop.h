// Python bindings of the C++ training loop, shared by the product module
// (csrc/bindings.cpp) and the CUDA emulation module of the tests (csrc/emu/emu_module.cpp).
#pragma once
#include <torch/extension.h>

#include "train_loop.h"

namespace gru4rec {

// `extra` goes to both classes: the emulation module passes py::module_local(), so that
// it and gru4rec_fast._C can be loaded in one process (pybind11 registers C++ types
// process-wide otherwise).
template <typename... Extra>
inline void bind_train_loop(pybind11::module& m, const Extra&... extra) {
  namespace py = pybind11;
  namespace g = gru4rec;
  py::class_<g::TrainConfig>(m, "TrainConfig", "hyperparameters of TrainLoop, as codes", extra...)
      .def(py::init<>())
      .def_readwrite("mode", &g::TrainConfig::mode)
      .def_readwrite("n_layers", &g::TrainConfig::n_layers)
      .def_readwrite("hidden_act", &g::TrainConfig::hidden_act)
      .def_readwrite("hidden_a", &g::TrainConfig::hidden_a)
      .def_readwrite("hidden_b", &g::TrainConfig::hidden_b)
      .def_readwrite("loss", &g::TrainConfig::loss)
      .def_readwrite("final_act", &g::TrainConfig::final_act)
      .def_readwrite("final_a", &g::TrainConfig::final_a)
      .def_readwrite("final_b", &g::TrainConfig::final_b)
      .def_readwrite("bpreg", &g::TrainConfig::bpreg)
      .def_readwrite("smoothing", &g::TrainConfig::smoothing)
      .def_readwrite("scale", &g::TrainConfig::scale)
      .def_readwrite("logq", &g::TrainConfig::logq)
      .def_readwrite("sample_alpha", &g::TrainConfig::sample_alpha)
      .def_readwrite("dropout_embed", &g::TrainConfig::dropout_embed)
      .def_readwrite("dropout_hidden", &g::TrainConfig::dropout_hidden)
      .def_readwrite("optimizer", &g::TrainConfig::optimizer)
      .def_readwrite("lr", &g::TrainConfig::lr)
      .def_readwrite("momentum", &g::TrainConfig::momentum)
      .def_readwrite("lmbd", &g::TrainConfig::lmbd)
      .def_readwrite("eps", &g::TrainConfig::eps)
      .def_readwrite("p1", &g::TrainConfig::p1)
      .def_readwrite("p2", &g::TrainConfig::p2)
      .def_readwrite("grad_cap", &g::TrainConfig::grad_cap);
  // The loop runs without the GIL: it never touches a Python object.
  py::class_<g::TrainLoop>(m, "TrainLoop", "the C++ training step (csrc/train_loop.h)", extra...)
      .def(py::init<const std::map<std::string, at::Tensor>&,
                    const std::map<std::string, std::vector<at::Tensor>>&, const at::Tensor&,
                    const g::TrainConfig&, at::Generator>(),
           py::arg("weights"), py::arg("states"), py::arg("log_supp"), py::arg("config"),
           py::arg("generator"))
      .def("run", &g::TrainLoop::run, py::arg("ins"), py::arg("outs"), py::arg("resets"),
           py::arg("prev"), py::arg("offsets"), py::arg("shrink"), py::arg("samples"),
           py::arg("t0"), py::arg("t1"), py::arg("hidden"),
           py::call_guard<py::gil_scoped_release>())
      .def("step", &g::TrainLoop::step, py::arg("X"), py::arg("T"), py::arg("reset"),
           py::arg("S"), py::arg("hidden"), py::call_guard<py::gil_scoped_release>());
}

}  // namespace gru4rec
