// What every implementation file registers: the op's shared run_<op> (argument checks,
// contiguous inputs; csrc/<op>.cpp) bound at compile time to this device's kernel, e.g.
//   TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
//     G4R_IMPL(m, "cdf_search", run_cdf_search, cdf_search_cpu);
//   }
#pragma once
#include <torch/library.h>

namespace gru4rec {

template <typename RunPtr>
struct bound_kernel;

// For Run: R (*)(K kernel, A... args), bound<Run, Kernel> is the plain function
// R(A... args) = Run(Kernel, args...) that the dispatcher calls. (The types come from
// the pointer's type, not from a non-type parameter, which nvcc's front end rejects as
// not deducible.)
template <typename R, typename K, typename... A>
struct bound_kernel<R (*)(K, A...)> {
  template <R (*Run)(K, A...), K Kernel>
  static R bound(A... args) {
    return Run(Kernel, args...);
  }
};

}  // namespace gru4rec

#define G4R_IMPL(m, name, run, kernel)                                                  \
  (m).impl(name, TORCH_FN((::gru4rec::bound_kernel<decltype(&::gru4rec::run)>::template \
                               bound<&::gru4rec::run, &::gru4rec::kernel>)))
