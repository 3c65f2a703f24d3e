// CPU gru_step: the 2 forward and 4 backward GEMMs (3 without dh, for the training
// loop) go to BLAS through ATen (they dominate the cost); the element-wise work between
// them is one pass per stage, parallel over rows, with plain inner loops over the hidden
// dimension (sigmoid and tanh excepted, see below). Arguments were checked in gru_step.cpp;
// h, keep_mask, reset, dout and saved arrive contiguous, reset/keep_mask undefined
// when not given.
#include "gru_step_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <cstring>

#include "common/activations.h"

namespace gru4rec {

namespace {

// Rows per parallel chunk: about 16k elements per task, so that the small training
// shapes (B=32, d=100) run on one thread without task overhead.
int64_t row_grain(int64_t d) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)); }

const uint8_t* reset_ptr(const at::Tensor& reset) {
  // bool and uint8 are both one byte; nonzero means "new session in this row".
  return reset.defined() ? static_cast<const uint8_t*>(reset.data_ptr()) : nullptr;
}

// h0 = h with the reset rows zeroed (a fresh tensor; h is not touched).
at::Tensor zero_reset_rows(const at::Tensor& h, const at::Tensor& reset) {
  at::Tensor h0 = at::empty_like(h, at::MemoryFormat::Contiguous);
  const int64_t B = h.size(0), d = h.size(1);
  const uint8_t* rs = reset_ptr(reset);
  const size_t row_bytes = d * h.element_size();
  const char* src = static_cast<const char*>(h.data_ptr());
  char* dst = static_cast<char*>(h0.data_ptr());
  at::parallel_for(0, B, row_grain(d), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      if (rs[b]) std::memset(dst + b * row_bytes, 0, row_bytes);
      else std::memcpy(dst + b * row_bytes, src + b * row_bytes, row_bytes);
    }
  });
  return h0;
}

}  // namespace

std::vector<at::Tensor> gru_step_forward_cpu(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  const int64_t B = vx.size(0), d = Wh.size(0);
  const at::Tensor h0 = reset.defined() ? zero_reset_rows(h, reset) : h;
  // Gate pre-activations: vx[:, d:3d] + h0.Wrz, one GEMM for both gates (B x 2d).
  at::Tensor rz = at::addmm(vx.narrow(1, d, 2 * d), h0, Wrz).contiguous();
  // The transcendental passes (sigmoid here, tanh below) go to ATen's own kernels: they
  // are compiled per CPU capability and vectorise exp/tanh (SLEEF), which this
  // extension's portable build cannot; scalar libm made the element-wise work 2x the
  // GEMMs' time at B=240, d=512. In place, so no extra memory traffic or allocation.
  at::sigmoid_(rz);
  at::Tensor hr = at::mul(h0, rz.narrow(1, 0, d));
  // Candidate pre-activation: vx[:, :d] + (h0*r).Wh; the activation is applied in place.
  at::Tensor c = at::addmm(vx.narrow(1, 0, d), hr, Wh).contiguous();
  const bool tanh_done = act == ACT_TANH;  // the default hidden activation
  if (tanh_done) at::tanh_(c);
  at::Tensor dact = at::empty({B, d}, h0.options());
  at::Tensor out = at::empty({B, d}, h0.options());
  AT_DISPATCH_FLOATING_TYPES(vx.scalar_type(), "gru_step_forward_cpu_out", [&] {
    const scalar_t a = static_cast<scalar_t>(act_a), bb = static_cast<scalar_t>(act_b);
    scalar_t* c_p = c.data_ptr<scalar_t>();
    scalar_t* dact_p = dact.data_ptr<scalar_t>();
    scalar_t* out_p = out.data_ptr<scalar_t>();
    const scalar_t* rz_p = rz.data_ptr<scalar_t>();
    const scalar_t* h0_p = h0.data_ptr<scalar_t>();
    const scalar_t* m_p = keep_mask.defined() ? keep_mask.data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, B, row_grain(d), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o = b * d;
        const scalar_t* z = rz_p + b * 2 * d + d;
        for (int64_t j = 0; j < d; ++j) {
          scalar_t y = c_p[o + j];
          if (tanh_done) {
            dact_p[o + j] = scalar_t(1) - y * y;
          } else {
            const scalar_t pre = y;
            y = act_forward<scalar_t>(act, pre, a, bb);
            c_p[o + j] = y;
            dact_p[o + j] = act_derivative<scalar_t>(act, pre, y, a, bb);
          }
          out_p[o + j] = (scalar_t(1) - z[j]) * h0_p[o + j] + z[j] * y;
        }
        if (m_p) {
          for (int64_t j = 0; j < d; ++j) out_p[o + j] *= m_p[o + j];
        }
      }
    });
  });
  return {out, h0, rz, hr, c, dact};
}

namespace {

// The backward; with_dh = false leaves out everything that only dh needs (its B x d
// buffer, its terms in both passes, and the dpre_rz . Wrz^T GEMM), for callers that
// drop dh.
std::vector<at::Tensor> gru_step_backward_impl(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, bool with_dh) {
  const at::Tensor &h0 = saved[0], &rz = saved[1], &hr = saved[2], &c = saved[3], &dact = saved[4];
  const int64_t B = dout.size(0), d = Wh.size(0);
  // dvx's column blocks are the pre-activation gradients [dpre_c | dpre_r | dpre_z].
  at::Tensor dvx = at::empty({B, 3 * d}, dout.options());
  at::Tensor dh = with_dh ? at::empty({B, d}, dout.options()) : at::Tensor();
  // Stage 1 (before any GEMM): g = dout*mask; dpre_c = g*z*act'; dpre_z = g*(c-h0)*z(1-z);
  // dh = g*(1-z) (the direct path through the interpolation).
  AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cpu_out", [&] {
    const scalar_t* do_p = dout.data_ptr<scalar_t>();
    const scalar_t* m_p = keep_mask.defined() ? keep_mask.data_ptr<scalar_t>() : nullptr;
    const scalar_t* rz_p = rz.data_ptr<scalar_t>();
    const scalar_t* h0_p = h0.data_ptr<scalar_t>();
    const scalar_t* c_p = c.data_ptr<scalar_t>();
    const scalar_t* dact_p = dact.data_ptr<scalar_t>();
    scalar_t* dvx_p = dvx.data_ptr<scalar_t>();
    scalar_t* dh_p = with_dh ? dh.data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, B, row_grain(d), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o = b * d;
        const scalar_t* z = rz_p + b * 2 * d + d;
        scalar_t* dpre_c = dvx_p + b * 3 * d;
        scalar_t* dpre_z = dpre_c + 2 * d;
        for (int64_t j = 0; j < d; ++j) {
          const scalar_t g = m_p ? do_p[o + j] * m_p[o + j] : do_p[o + j];
          const scalar_t zj = z[j];
          dpre_c[j] = g * zj * dact_p[o + j];
          dpre_z[j] = g * (c_p[o + j] - h0_p[o + j]) * zj * (scalar_t(1) - zj);
          if (dh_p) dh_p[o + j] = g * (scalar_t(1) - zj);
        }
      }
    });
  });
  const at::Tensor dpre_c = dvx.narrow(1, 0, d);
  const at::Tensor dhr = at::mm(dpre_c, Wh.t());  // d(h0*r), B x d
  at::Tensor dWh = at::mm(hr.t(), dpre_c);
  // Stage 2: dpre_r = dhr*h0*r(1-r); dh += dhr*r.
  AT_DISPATCH_FLOATING_TYPES(dout.scalar_type(), "gru_step_backward_cpu_reset_gate", [&] {
    const scalar_t* dhr_p = dhr.data_ptr<scalar_t>();
    const scalar_t* rz_p = rz.data_ptr<scalar_t>();
    const scalar_t* h0_p = h0.data_ptr<scalar_t>();
    scalar_t* dvx_p = dvx.data_ptr<scalar_t>();
    scalar_t* dh_p = with_dh ? dh.data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, B, row_grain(d), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o = b * d;
        const scalar_t* r = rz_p + b * 2 * d;
        scalar_t* dpre_r = dvx_p + b * 3 * d + d;
        for (int64_t j = 0; j < d; ++j) {
          const scalar_t rj = r[j];
          dpre_r[j] = dhr_p[o + j] * h0_p[o + j] * rj * (scalar_t(1) - rj);
          if (dh_p) dh_p[o + j] += dhr_p[o + j] * rj;
        }
      }
    });
  });
  const at::Tensor dpre_rz = dvx.narrow(1, d, 2 * d);
  at::Tensor dWrz = at::mm(h0.t(), dpre_rz);
  if (!with_dh) return {dvx, at::Tensor(), dWrz, dWh};
  dh.addmm_(dpre_rz, Wrz.t());
  // h did not reach the reset rows (h0 = 0 there), so their gradient is exactly zero.
  if (reset.defined()) {
    const uint8_t* rs = reset_ptr(reset);
    const size_t row_bytes = d * dh.element_size();
    char* dh_bytes = static_cast<char*>(dh.data_ptr());
    for (int64_t b = 0; b < B; ++b) {
      if (rs[b]) std::memset(dh_bytes + b * row_bytes, 0, row_bytes);
    }
  }
  return {dvx, dh, dWrz, dWh};
}

}  // namespace

std::vector<at::Tensor> gru_step_backward_cpu(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& reset, const at::Tensor& keep_mask, int64_t act, double act_a, double act_b) {
  (void)act; (void)act_a; (void)act_b;  // act' was saved by forward
  return gru_step_backward_impl(dout, saved, Wrz, Wh, reset, keep_mask, /*with_dh=*/true);
}

std::vector<at::Tensor> gru_step_backward_no_dh_cpu(const at::Tensor& dout, const std::vector<at::Tensor>& saved, const at::Tensor& Wrz, const at::Tensor& Wh, const at::Tensor& keep_mask) {
  // reset only zeroes rows of dh, which is not computed here.
  return gru_step_backward_impl(dout, saved, Wrz, Wh, at::Tensor(), keep_mask, /*with_dh=*/false);
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/gru_step.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "gru_step.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "gru_step_forward", run_gru_step_forward, gru_step_forward_cpu);
  G4R_IMPL(m, "gru_step_backward", run_gru_step_backward, gru_step_backward_cpu);
}
