// One row-sparse table's raw pointers as the CPU optimiser kernels use them
// (sparse_row_update_cpu.cpp's row pass, dense_update_cpu.cpp's element pass): the
// parameter, its gradient and the state the optimiser uses; unused state is null.
#pragma once
#include <cstdint>

#include "common/code_tables.h"          // kOptimizers
#include "cpu/sparse_row_update_cpu.h"   // SparseRowTable

namespace gru4rec {

template <typename T>
struct TablePtrs {
  T *P = nullptr, *S1 = nullptr, *S2 = nullptr, *V = nullptr, *STEP = nullptr;
  const T* G = nullptr;
};

template <typename T, int64_t OPT, bool MOMENTUM>
TablePtrs<T> table_ptrs(const SparseRowTable& t) {
  TablePtrs<T> k;
  k.P = t.param.data_ptr<T>();
  k.G = t.grads.data_ptr<T>();
  k.S1 = kOptimizers[OPT].uses_s1 ? t.state1.data_ptr<T>() : nullptr;
  k.S2 = kOptimizers[OPT].uses_s2 ? t.state2.data_ptr<T>() : nullptr;
  k.V = MOMENTUM ? t.velocity.data_ptr<T>() : nullptr;
  k.STEP = kOptimizers[OPT].uses_steps ? t.step_count.data_ptr<T>() : nullptr;
  return k;
}

}  // namespace gru4rec
