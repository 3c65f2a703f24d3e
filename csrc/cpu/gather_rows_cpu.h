// Row gather on the CPU: out[i] = W[ids[i]] (index_select along dim 0) for a contiguous
// 2-D W, with the rows of later ids prefetched (the tables are far larger than the
// caches, so each row is otherwise a chain of DRAM misses). Ids must be in range.
#pragma once
#include <ATen/ATen.h>

namespace gru4rec {

at::Tensor gather_rows_cpu(const at::Tensor& W, const at::Tensor& ids);

}  // namespace gru4rec
