// Row-sparse optimiser step on CUDA (the analogue of the reference code's GPU
// increment-subtensor, done the FBGEMM way):
// 1. Radix-sort ids with their positions (cub, on only the bits n needs; temp storage
//    from the caching allocator). Radix sort is stable, so equal ids stay in position
//    order.
// 2. One warp per sorted position. A warp whose id equals its predecessor's exits; the
//    first warp of each run owns that row: it sums the run's gradient rows in sorted
//    (= original position) order and applies the optimiser once. No atomics, no host
//    sync to count unique ids: the result is deterministic and bit-identical across
//    runs. `deterministic=false` takes the same path: with ~2k ids the sort is a few
//    microseconds and an atomic path would not be faster (documented in the wrapper).
#include "sparse_row_update_cuda.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/macros/Macros.h>
#include <cub/cub.cuh>

#include "common/code_tables.h"
#include "common/dispatch.h"

#include "cuda/kernels/sparse_row_update_kernels.cuh"

namespace gru4rec {

using namespace sparse_row_update_kernels;

namespace {

template <typename T, int64_t OPT, bool MOMENTUM>
void launch(at::Tensor& param, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2,
            at::Tensor& velocity, at::Tensor& step_count, const at::Tensor& sorted_ids,
            const at::Tensor& sorted_pos, const Hyper<T>& h, cudaStream_t stream) {
  const int64_t M = sorted_ids.size(0), n = param.size(0), d = param.size(1);
  sparse_row_update_kernel<T, OPT, MOMENTUM><<<n_blocks(M), kThreads, 0, stream>>>(
      param.data_ptr<T>(), grads.data_ptr<T>(),
      kOptimizers[OPT].uses_s1 ? state1.data_ptr<T>() : nullptr,
      kOptimizers[OPT].uses_s2 ? state2.data_ptr<T>() : nullptr,
      MOMENTUM ? velocity.data_ptr<T>() : nullptr,
      kOptimizers[OPT].uses_steps ? step_count.data_ptr<T>() : nullptr, sorted_ids.data_ptr<int64_t>(),
      sorted_pos.data_ptr<int64_t>(), M, d, n, h);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

// Arguments are checked in csrc/sparse_row_update.cpp; M > 0 and d > 0 here.
void sparse_row_update_cuda_(at::Tensor& param, const at::Tensor& ids, const at::Tensor& grads, at::Tensor& state1, at::Tensor& state2, at::Tensor& velocity, at::Tensor& step_count, int64_t optimizer, double lr, double momentum, double lmbd, double eps, double p1, double p2, bool /*deterministic*/) {
  const c10::cuda::CUDAGuard guard(param.device());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const int64_t M = ids.size(0), n = param.size(0);
  TORCH_CHECK(M <= std::numeric_limits<int>::max(), "sparse_row_update_: at most 2^31-1 ids per call");

  // Sort (id, position) pairs on only the bits that ids in [0, n) can use. Ids are
  // non-negative (checked in the kernel), so the low end_bit bits order them fully.
  const int end_bit = std::max(1, bits_for(static_cast<uint64_t>(std::max<int64_t>(n - 1, 0))));
  at::Tensor positions = at::arange(M, ids.options());
  at::Tensor sorted_ids = at::empty_like(ids);
  at::Tensor sorted_pos = at::empty_like(ids);
  size_t temp_bytes = 0;
  C10_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, temp_bytes, ids.data_ptr<int64_t>(), sorted_ids.data_ptr<int64_t>(),
      positions.data_ptr<int64_t>(), sorted_pos.data_ptr<int64_t>(), static_cast<int>(M), 0,
      end_bit, stream));
  // Temp storage from the caching allocator: never cudaMalloc inside the op.
  at::Tensor temp = at::empty({static_cast<int64_t>(temp_bytes)}, ids.options().dtype(at::kByte));
  C10_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      temp.data_ptr(), temp_bytes, ids.data_ptr<int64_t>(), sorted_ids.data_ptr<int64_t>(),
      positions.data_ptr<int64_t>(), sorted_pos.data_ptr<int64_t>(), static_cast<int>(M), 0,
      end_bit, stream));

  AT_DISPATCH_FLOATING_TYPES(param.scalar_type(), "sparse_row_update_cuda_", [&] {
    const Hyper<scalar_t> h{static_cast<scalar_t>(lr), static_cast<scalar_t>(momentum),
                            static_cast<scalar_t>(lmbd), static_cast<scalar_t>(eps),
                            static_cast<scalar_t>(p1), static_cast<scalar_t>(p2)};
    G4R_DISPATCH_OPTIMIZER(optimizer, momentum > 0.0, "sparse_row_update_", [&] {
      launch<scalar_t, kOpt, kMomentum>(param, grads, state1, state2, velocity, step_count,
                                        sorted_ids, sorted_pos, h, stream);
    });
  });
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/sparse_row_update.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "sparse_row_update.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "sparse_row_update_", run_sparse_row_update_, sparse_row_update_cuda_);
}
