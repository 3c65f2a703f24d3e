// Helpers of the emulated launchers (csrc/emu/*_emu.h): fresh outputs are filled with
// NaN (or -1 for integers) instead of left uninitialised, so an element that a kernel
// forgets to write shows up in the tests.
#pragma once
#include <ATen/ATen.h>

namespace gru4rec {
namespace emu {

inline at::Tensor poisoned(at::Tensor t) {
  if (t.is_floating_point()) t.fill_(std::numeric_limits<double>::quiet_NaN());
  else t.fill_(-1);
  return t;
}
inline at::Tensor empty(at::IntArrayRef sizes, const at::TensorOptions& o) {
  return poisoned(at::empty(sizes, o));
}
inline at::Tensor empty_like(const at::Tensor& t) {
  return poisoned(at::empty_like(t, at::MemoryFormat::Contiguous));
}

}  // namespace emu
}  // namespace gru4rec
