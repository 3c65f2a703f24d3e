// Launcher of fused_loss on CUDA; the kernels are in kernels/fused_loss_kernels.cuh.
// The current stream comes from c10/cuda/CUDAStream.h (the function behind
// at::cuda::getCurrentCUDAStream): ATen/cuda/CUDAContext.h pulls in cuSPARSE/cuBLAS
// headers that this op does not need and that the CI toolkit lacks.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/kernels/fused_loss_kernels.cuh"
#include "fused_loss_cuda.h"

namespace gru4rec {

using namespace fused_loss_kernels;

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cuda(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  const c10::cuda::CUDAGuard guard(scores.device());
  const int64_t B = scores.size(0), N = scores.size(1);
  auto dscores = at::empty_like(scores);
  auto loss_out = at::zeros({}, scores.options());
  if (B == 0) return {loss_out, dscores};
  auto row_loss = at::empty({B}, scores.options());
  const bool has_offset = col_offset.numel() > 0;
  double w_pos = 1.0, w_all = 0.0;
  if (N > 1 && smoothing > 0) {
    w_pos = 1.0 - smoothing * double(N) / double(N - 1);
    w_all = smoothing / double(N - 1);
  }
  const int threads = row_threads(N);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "fused_loss_fwd_bwd_cuda", [&] {
    Params<scalar_t> p{N, int(loss), int(final_act), scalar_t(act_a), scalar_t(act_b),
                       scalar_t(bpreg), scalar_t(w_pos), scalar_t(w_all), scalar_t(scale)};
    fused_loss_rows_kernel<scalar_t><<<static_cast<unsigned>(B), threads, 0, stream>>>(
        scores.data_ptr<scalar_t>(), has_offset ? col_offset.data_ptr<scalar_t>() : nullptr,
        dscores.data_ptr<scalar_t>(), row_loss.data_ptr<scalar_t>(), p);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    sum_row_losses_kernel<scalar_t><<<1, kMaxThreads, 0, stream>>>(
        row_loss.data_ptr<scalar_t>(), B, scale, loss_out.data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {loss_out, dscores};
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/fused_loss.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "fused_loss.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "fused_loss_fwd_bwd", run_fused_loss_fwd_bwd, fused_loss_fwd_bwd_cuda);
}
