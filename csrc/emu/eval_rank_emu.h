// eval_rank_counts_cuda on the CPU emulation: the launches of csrc/cuda/eval_rank_cuda.cu, same
// kernels and configuration.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include "cuda/kernels/eval_rank_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

std::tuple<at::Tensor, at::Tensor> eval_rank_counts_cuda(const at::Tensor& H, const at::Tensor& W, const at::Tensor& b, const at::Tensor& targets, const at::Tensor& candidates, int64_t final_act, double act_a, double act_b, double noise_scale, int64_t noise_seed, int64_t tile_size) {
  using namespace eval_rank_kernels;
  (void)tile_size;  // memory is O(B) here whatever the tile: no score tile is stored
  const int64_t B = H.size(0), d = H.size(1), n_items = W.size(0);
  at::Tensor greater = at::zeros({B}, targets.options());
  at::Tensor equal = at::zeros({B}, targets.options());
  if (B == 0) return {greater, equal};
  const bool has_cols = candidates.numel() > 0;
  const int64_t n_cols = has_cols ? candidates.numel() : n_items;
  AT_DISPATCH_FLOATING_TYPES(H.scalar_type(), "eval_rank_counts_cuda", [&] {
    TORCH_CHECK((n_cols + kThreads - 1) / kThreads < (int64_t(1) << 31),
                "eval_rank_counts: too many items for one launch");
    const LaunchConfig cfg = launch_config<scalar_t>(B, d, n_cols);
    auto kernel = eval_rank_counts_kernel<scalar_t>;
    if (cfg.needs_optin) {
      // cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin) there: an H100's limit here.
      TORCH_CHECK(cfg.dynamic_bytes + cfg.static_bytes <= g4r_emu::kMaxSharedOptin,
                  "eval_rank_counts: hidden size ", d, " needs ",
                  cfg.dynamic_bytes + cfg.static_bytes,
                  " bytes of shared memory per block, the GPU allows ", g4r_emu::kMaxSharedOptin);
      g4r_emu::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), cfg.dynamic_bytes);
    }
    const dim3 grid(cfg.grid_x, cfg.grid_y);
      g4r_emu::launch(kernel, grid, dim3(kThreads), cfg.dynamic_bytes, H.data_ptr<scalar_t>(), W.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
        targets.data_ptr<int64_t>(), has_cols ? candidates.data_ptr<int64_t>() : nullptr, B, d,
        n_cols, n_items, final_act, static_cast<scalar_t>(act_a), static_cast<scalar_t>(act_b),
        noise_scale > 0.0, static_cast<scalar_t>(noise_scale), static_cast<uint64_t>(noise_seed),
        reinterpret_cast<unsigned long long*>(greater.data_ptr<int64_t>()),
        reinterpret_cast<unsigned long long*>(equal.data_ptr<int64_t>()));
  });
  equal.add_(1);  // the target counts itself once (its own column is skipped)
  return {greater, equal};
}

}  // namespace gru4rec
