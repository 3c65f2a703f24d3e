// fused_loss_fwd_bwd_cuda on the CPU emulation: the launches of
// csrc/cuda/fused_loss_cuda.cu, same kernels, same configuration.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include "cuda/kernels/fused_loss_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> fused_loss_fwd_bwd_cuda(const at::Tensor& scores, const at::Tensor& col_offset, int64_t loss, int64_t final_act, double act_a, double act_b, double bpreg, double smoothing, double scale) {
  using namespace fused_loss_kernels;
  const int64_t B = scores.size(0), N = scores.size(1);
  auto dscores = emu::empty_like(scores);
  auto loss_out = at::zeros({}, scores.options());
  if (B == 0) return {loss_out, dscores};
  auto row_loss = emu::empty({B}, scores.options());
  const bool has_offset = col_offset.numel() > 0;
  const SmoothingWeights sw = smoothing_weights(smoothing, N);
  const int threads = row_threads(N);
  AT_DISPATCH_FLOATING_TYPES(scores.scalar_type(), "fused_loss_fwd_bwd_cuda", [&] {
    Params<scalar_t> p{N, int(loss), int(final_act), scalar_t(act_a), scalar_t(act_b),
                       scalar_t(bpreg), scalar_t(sw.pos), scalar_t(sw.all), scalar_t(scale)};
    g4r_emu::launch(fused_loss_rows_kernel<scalar_t>, dim3(static_cast<unsigned>(B)),
                    dim3(threads), 0, scores.data_ptr<scalar_t>(),
                    has_offset ? col_offset.data_ptr<scalar_t>() : nullptr,
                    dscores.data_ptr<scalar_t>(), row_loss.data_ptr<scalar_t>(), p);
    g4r_emu::launch(sum_row_losses_kernel<scalar_t>, dim3(1), dim3(kMaxThreads), 0,
                    row_loss.data_ptr<scalar_t>(), B, scale, loss_out.data_ptr<scalar_t>());
  });
  return {loss_out, dscores};
}

}  // namespace gru4rec
