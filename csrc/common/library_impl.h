// What every implementation file registers: the op's shared run_<op> (argument checks,
// contiguous inputs; csrc/<op>.cpp) bound at compile time to this device's kernel, e.g.
//   TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
//     G4R_IMPL(m, "cdf_search", run_cdf_search, cdf_search_cpu);
//   }
#pragma once
#include <torch/library.h>

namespace gru4rec {

template <auto Run, auto Kernel>
struct bound_kernel;

// Run(kernel, args...) -> R becomes a plain function R(args...) the dispatcher can call.
template <typename R, typename K, typename... A, R (*Run)(K, A...), K Kernel>
struct bound_kernel<Run, Kernel> {
  static R call(A... args) { return Run(Kernel, args...); }
};

}  // namespace gru4rec

#define G4R_IMPL(m, name, run, kernel) \
  (m).impl(name, TORCH_FN((::gru4rec::bound_kernel<&::gru4rec::run, &::gru4rec::kernel>::call)))
