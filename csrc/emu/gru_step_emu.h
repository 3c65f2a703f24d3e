// gru_step_{forward,backward}_cuda on the CPU emulation: the launches of csrc/cuda/gru_step_cuda.cu, same
// kernels and configuration.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include "cuda/kernels/gru_step_kernels.cuh"
#include "emu/launch_glue.h"

namespace gru4rec {

namespace emu {

inline const uint8_t* reset_ptr(const at::Tensor& reset) {
  return reset.defined() ? static_cast<const uint8_t*>(reset.data_ptr()) : nullptr;
}

}  // namespace emu

std::vector<at::Tensor> gru_step_forward_cuda(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  using namespace gru_step_kernels;
  const int64_t B = vx.size(0), d = Wh.size(0), n = B * d;
  at::Tensor h0 = h;
  if (reset.defined() && n > 0) {
    h0 = emu::empty_like(h);
    AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "gru_step_forward_cuda_reset", [&] {
      g4r_emu::launch(zero_reset_rows_copy_kernel<scalar_t>, dim3(blocks_for(n)), dim3(kThreads), 0, h.data_ptr<scalar_t>(), emu::reset_ptr(reset), h0.data_ptr<scalar_t>(), n, d);
    });
  }
  at::Tensor rz = at::addmm(vx.narrow(1, d, 2 * d), h0, Wrz).contiguous();
  at::Tensor hr = emu::empty({B, d}, h0.options());
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(vx.scalar_type(), "gru_step_forward_cuda_gates", [&] {
      g4r_emu::launch(forward_gates_kernel<scalar_t>, dim3(blocks_for(n)), dim3(kThreads), 0, rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), hr.data_ptr<scalar_t>(), n, d);
    });
  }
  at::Tensor c = at::addmm(vx.narrow(1, 0, d), hr, Wh).contiguous();
  at::Tensor dact = emu::empty({B, d}, h0.options());
  at::Tensor out = emu::empty({B, d}, h0.options());
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(vx.scalar_type(), "gru_step_forward_cuda_out", [&] {
      g4r_emu::launch(forward_out_kernel<scalar_t>, dim3(blocks_for(n)), dim3(kThreads), 0, c.data_ptr<scalar_t>(), dact.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
          rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
          keep_mask.defined() ? keep_mask.data_ptr<scalar_t>() : nullptr, n, d, act,
          static_cast<scalar_t>(act_a), static_cast<scalar_t>(act_b));
    });
  }
  return {out, h0, rz, hr, c, dact};
}

std::vector<at::Tensor> gru_step_backward_cuda(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  (void)act; (void)act_a; (void)act_b;  // act' was saved by forward
  using namespace gru_step_kernels;
  const at::Tensor &h0 = saved[0], &rz = saved[1], &hr = saved[2], &c = saved[3], &dact = saved[4];
  const int64_t B = dout.size(0), d = Wh.size(0), n = B * d;
  at::Tensor dvx = emu::empty({B, 3 * d}, dout.options());
  at::Tensor dh = emu::empty({B, d}, dout.options());
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cuda_out", [&] {
      g4r_emu::launch(backward_out_kernel<scalar_t>, dim3(blocks_for(n)), dim3(kThreads), 0, dout.data_ptr<scalar_t>(), keep_mask.defined() ? keep_mask.data_ptr<scalar_t>() : nullptr,
          rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(),
          dact.data_ptr<scalar_t>(), dvx.data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(), n, d);
    });
  }
  const at::Tensor dpre_c = dvx.narrow(1, 0, d);
  const at::Tensor dhr = at::mm(dpre_c, Wh.t());
  at::Tensor dWh = at::mm(hr.t(), dpre_c);
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cuda_reset_gate", [&] {
      g4r_emu::launch(backward_reset_gate_kernel<scalar_t>, dim3(blocks_for(n)), dim3(kThreads), 0, dhr.data_ptr<scalar_t>(), rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
          dvx.data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(), n, d);
    });
  }
  const at::Tensor dpre_rz = dvx.narrow(1, d, 2 * d);
  at::Tensor dWrz = at::mm(h0.t(), dpre_rz);
  dh.addmm_(dpre_rz, Wrz.t());
  if (reset.defined() && n > 0) {
    AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cuda_reset", [&] {
      g4r_emu::launch(zero_reset_rows_kernel<scalar_t>, dim3(blocks_for(n)), dim3(kThreads), 0, dh.data_ptr<scalar_t>(), emu::reset_ptr(reset), n, d);
    });
  }
  return {dvx, dh, dWrz, dWh};
}

}  // namespace gru4rec
