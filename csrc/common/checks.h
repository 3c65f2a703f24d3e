// Argument checks shared by every op's check_<op>_args. Messages name the op and the
// argument so that a user sees what to fix, not a kernel crash.
#pragma once
#include <ATen/ATen.h>
#include <string>

namespace gru4rec {

// True when the C++ training loop must run the CUDA kernels on `t` (the ops themselves
// are dispatched by PyTorch): for CUDA tensors, and in the CUDA emulation module of the
// tests (csrc/emu/, built with G4R_CUDA_EMU) for CPU tensors too.
inline bool runs_cuda_kernels(const at::Tensor& t) {
#if defined(G4R_CUDA_EMU)
  return t.is_cpu() || t.is_cuda();
#else
  return t.is_cuda();
#endif
}

inline void check_defined(const at::Tensor& t, const char* op, const char* name) {
  TORCH_CHECK(t.defined(), op, ": argument '", name, "' is undefined");
}

inline void check_float(const at::Tensor& t, const char* op, const char* name) {
  check_defined(t, op, name);
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, op,
              ": '", name, "' must be float32 or float64, got ", t.scalar_type());
}

inline void check_index(const at::Tensor& t, const char* op, const char* name) {
  check_defined(t, op, name);
  TORCH_CHECK(t.scalar_type() == at::kLong, op, ": '", name,
              "' must be an int64 tensor of ids, got ", t.scalar_type());
}

inline void check_dim(const at::Tensor& t, int64_t dim, const char* op, const char* name) {
  TORCH_CHECK(t.dim() == dim, op, ": '", name, "' must have ", dim, " dimension(s), got shape ",
              t.sizes());
}

inline void check_same_device(const at::Tensor& a, const at::Tensor& b, const char* op,
                              const char* name_a, const char* name_b) {
  TORCH_CHECK(a.device() == b.device(), op, ": '", name_a, "' is on ", a.device(), " but '",
              name_b, "' is on ", b.device());
}

inline void check_same_dtype(const at::Tensor& a, const at::Tensor& b, const char* op,
                             const char* name_a, const char* name_b) {
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), op, ": '", name_a, "' is ", a.scalar_type(),
              " but '", name_b, "' is ", b.scalar_type());
}

// Ids must lie in [0, n). Checked on the host only for CPU tensors: a device-side
// check would need a synchronising copy, which the ops avoid (docs/development.md);
// CUDA kernels instead guard every gathered index with CUDA_KERNEL_ASSERT.
inline void check_ids_in_range_cpu(const at::Tensor& ids, int64_t n, const char* op,
                                   const char* name) {
  if (!ids.is_cpu() || ids.numel() == 0) return;
  auto mn = ids.min().item<int64_t>();
  auto mx = ids.max().item<int64_t>();
  TORCH_CHECK(mn >= 0 && mx < n, op, ": ids in '", name, "' must be in [0, ", n,
              "), found min ", mn, " max ", mx);
}

// The (hidden states, item table, item ids) triple of the output-layer ops: H (B x d)
// and W (n x d) float of one dtype, ids a 1-D int64 tensor, all on H's device, and
// the same hidden size d. The id range is left to the caller (check_ids_in_range_cpu).
inline void check_hidden_table_ids(const at::Tensor& H, const at::Tensor& W, const at::Tensor& ids,
                                   const char* op, const char* ids_name) {
  check_float(H, op, "H");
  check_float(W, op, "W");
  check_index(ids, op, ids_name);
  check_dim(H, 2, op, "H");
  check_dim(W, 2, op, "W");
  check_dim(ids, 1, op, ids_name);
  check_same_dtype(H, W, op, "H", "W");
  check_same_device(H, W, op, "H", "W");
  check_same_device(H, ids, op, "H", ids_name);
  TORCH_CHECK(H.size(1) == W.size(1), op, ": H is ", H.sizes(), " and W is ", W.sizes(),
              ": their second dimensions (the hidden size d) must be equal");
}

}  // namespace gru4rec
