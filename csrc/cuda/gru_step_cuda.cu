// CUDA gru_step: the GEMMs go to cuBLAS through ATen (they dominate the cost); the
// element-wise work between them is one grid-stride kernel per stage (two in forward,
// two in backward, plus one for reset rows when given). Everything runs on the current
// stream and never synchronises with the host. Arguments were checked in gru_step.cpp;
// h, keep_mask, reset, dout and saved arrive contiguous, reset/keep_mask undefined
// when not given.
#include "gru_step_cuda.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>


#include "cuda/kernels/gru_step_kernels.cuh"

namespace gru4rec {

using namespace gru_step_kernels;

namespace {

const uint8_t* reset_ptr(const at::Tensor& reset) {
  return reset.defined() ? static_cast<const uint8_t*>(reset.data_ptr()) : nullptr;
}

}  // namespace

std::vector<at::Tensor> gru_step_forward_cuda(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  const c10::cuda::CUDAGuard guard(vx.device());
  const int64_t B = vx.size(0), d = Wh.size(0), n = B * d;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  at::Tensor h0 = h;
  if (reset.defined() && n > 0) {
    h0 = at::empty_like(h, at::MemoryFormat::Contiguous);
    AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "gru_step_forward_cuda_reset", [&] {
      zero_reset_rows_copy_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          h.data_ptr<scalar_t>(), reset_ptr(reset), h0.data_ptr<scalar_t>(), n, d);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  at::Tensor rz = at::addmm(vx.narrow(1, d, 2 * d), h0, Wrz).contiguous();
  at::Tensor hr = at::empty({B, d}, h0.options());
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(vx.scalar_type(), "gru_step_forward_cuda_gates", [&] {
      forward_gates_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), hr.data_ptr<scalar_t>(), n, d);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  at::Tensor c = at::addmm(vx.narrow(1, 0, d), hr, Wh).contiguous();
  at::Tensor dact = at::empty({B, d}, h0.options());
  at::Tensor out = at::empty({B, d}, h0.options());
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(vx.scalar_type(), "gru_step_forward_cuda_out", [&] {
      forward_out_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          c.data_ptr<scalar_t>(), dact.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
          rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
          keep_mask.defined() ? keep_mask.data_ptr<scalar_t>() : nullptr, n, d, act,
          static_cast<scalar_t>(act_a), static_cast<scalar_t>(act_b));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {out, h0, rz, hr, c, dact};
}

std::vector<at::Tensor> gru_step_backward_cuda(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  (void)act; (void)act_a; (void)act_b;  // act' was saved by forward
  const c10::cuda::CUDAGuard guard(dout.device());
  const at::Tensor &h0 = saved[0], &rz = saved[1], &hr = saved[2], &c = saved[3], &dact = saved[4];
  const int64_t B = dout.size(0), d = Wh.size(0), n = B * d;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  at::Tensor dvx = at::empty({B, 3 * d}, dout.options());
  at::Tensor dh = at::empty({B, d}, dout.options());
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cuda_out", [&] {
      backward_out_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          dout.data_ptr<scalar_t>(), keep_mask.defined() ? keep_mask.data_ptr<scalar_t>() : nullptr,
          rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), c.data_ptr<scalar_t>(),
          dact.data_ptr<scalar_t>(), dvx.data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(), n, d);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  const at::Tensor dpre_c = dvx.narrow(1, 0, d);
  const at::Tensor dhr = at::mm(dpre_c, Wh.t());
  at::Tensor dWh = at::mm(hr.t(), dpre_c);
  if (n > 0) {
    AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cuda_reset_gate", [&] {
      backward_reset_gate_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          dhr.data_ptr<scalar_t>(), rz.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
          dvx.data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(), n, d);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  const at::Tensor dpre_rz = dvx.narrow(1, d, 2 * d);
  at::Tensor dWrz = at::mm(h0.t(), dpre_rz);
  dh.addmm_(dpre_rz, Wrz.t());
  if (reset.defined() && n > 0) {
    AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cuda_reset", [&] {
      zero_reset_rows_kernel<scalar_t><<<blocks_for(n), kThreads, 0, stream>>>(
          dh.data_ptr<scalar_t>(), reset_ptr(reset), n, d);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {dvx, dh, dWrz, dWh};
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/gru_step.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "gru_step.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CUDA, m) {
  G4R_IMPL(m, "gru_step_forward", run_gru_step_forward, gru_step_forward_cuda);
  G4R_IMPL(m, "gru_step_backward", run_gru_step_backward, gru_step_backward_cuda);
}
