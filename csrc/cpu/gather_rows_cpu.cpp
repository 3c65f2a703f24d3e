#include "gather_rows_cpu.h"

#include <ATen/Parallel.h>

#include <cstring>

namespace gru4rec {

namespace {
constexpr int64_t kAhead = 8;  // rows prefetched ahead of the copy
}

at::Tensor gather_rows_cpu(const at::Tensor& W, const at::Tensor& ids) {
  TORCH_CHECK(W.dim() == 2 && W.is_contiguous() && ids.dim() == 1 &&
                  ids.scalar_type() == at::kLong && ids.is_contiguous(),
              "gather_rows_cpu: needs a contiguous 2-D W and contiguous 1-D int64 ids");
  const int64_t M = ids.size(0);
  at::Tensor out = at::empty({M, W.size(1)}, W.options());
  if (M == 0 || W.size(1) == 0) return out;
  const int64_t row_bytes = W.size(1) * static_cast<int64_t>(W.element_size());
  const char* src = static_cast<const char*>(W.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  const int64_t* id = ids.data_ptr<int64_t>();
  at::parallel_for(0, M, 512, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (i + kAhead < end) {
        const char* ahead = src + id[i + kAhead] * row_bytes;
        for (int64_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(ahead + o, 0, 3);
      }
      std::memcpy(dst + i * row_bytes, src + id[i] * row_bytes, row_bytes);
    }
  });
  return out;
}

}  // namespace gru4rec
