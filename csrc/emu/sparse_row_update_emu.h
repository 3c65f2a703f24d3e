// sparse_row_update_cuda_ on the CPU emulation: the launches of csrc/cuda/sparse_row_update_cuda.cu, same
// kernels and configuration.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include "cuda/kernels/sparse_row_update_kernels.cuh"
#include "common/code_tables.h"
#include "common/dispatch.h"
#include "emu/launch_glue.h"

namespace gru4rec {

namespace emu {

template <typename T, int64_t OPT, bool MOMENTUM>
void launch(at::Tensor& param, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2,
            at::Tensor& velocity, at::Tensor& step_count, const at::Tensor& sorted_ids,
            const at::Tensor& sorted_pos,
            const sparse_row_update_kernels::Hyper<T>& h) {
  using namespace sparse_row_update_kernels;
  const int64_t M = sorted_ids.size(0), n = param.size(0), d = param.size(1);
      g4r_emu::launch(sparse_row_update_kernel<T, OPT, MOMENTUM>, dim3(n_blocks(M)), dim3(kThreads), 0, param.data_ptr<T>(), grads.data_ptr<T>(),
      kOptimizers[OPT].uses_s1 ? state1.data_ptr<T>() : nullptr,
      kOptimizers[OPT].uses_s2 ? state2.data_ptr<T>() : nullptr,
      MOMENTUM ? velocity.data_ptr<T>() : nullptr,
      kOptimizers[OPT].uses_steps ? step_count.data_ptr<T>() : nullptr, sorted_ids.data_ptr<int64_t>(),
      sorted_pos.data_ptr<int64_t>(), M, d, n, h);
}

}  // namespace emu

// Arguments are checked in csrc/sparse_row_update.cpp; M > 0 and d > 0 here.
void sparse_row_update_cuda_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool /*deterministic*/) {
  using namespace sparse_row_update_kernels;
  const int64_t M = ids.size(0), n = param.size(0);
  TORCH_CHECK(M <= std::numeric_limits<int>::max(), "sparse_row_update_: at most 2^31-1 ids per call");

  // Sort (id, position) pairs on only the bits that ids in [0, n) can use. Ids are
  // non-negative (checked in the kernel), so the low end_bit bits order them fully.
  const int end_bit = std::max(1, bits_for(static_cast<uint64_t>(std::max<int64_t>(n - 1, 0))));
  // cub::DeviceRadixSort::SortPairs there; here a host routine with the same contract:
  // a stable sort of the ids, carrying their positions. end_bit is still computed (and
  // checked) so that the emulation sees what the radix sort would be told.
  TORCH_CHECK(end_bit >= 1 && end_bit <= 64 && (n <= 1 || ((n - 1) >> (end_bit - 1)) == 1),
              "sparse_row_update_: end_bit ", end_bit, " does not cover ids below ", n);
  auto sorted = at::sort(ids, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  at::Tensor sorted_ids = std::get<0>(sorted).contiguous();
  at::Tensor sorted_pos = std::get<1>(sorted).contiguous();

  AT_DISPATCH_FLOATING_TYPES(param.scalar_type(), "sparse_row_update_cuda_", [&] {
    const Hyper<scalar_t> h{static_cast<scalar_t>(lr), static_cast<scalar_t>(momentum),
                            static_cast<scalar_t>(lmbd), static_cast<scalar_t>(eps),
                            static_cast<scalar_t>(p1), static_cast<scalar_t>(p2)};
    G4R_DISPATCH_OPTIMIZER(optimizer, momentum > 0.0, "sparse_row_update_", [&] {
      emu::launch<scalar_t, kOpt, kMomentum>(param, grads, state1, state2, velocity, step_count,
                                        sorted_ids, sorted_pos, h);
    });
  });
}

}  // namespace gru4rec
