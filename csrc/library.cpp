// Defines the operators torch.ops.gru4rec_fast.*; the CPU and CUDA implementation files
// register their kernels under these names (TORCH_LIBRARY_IMPL at their ends).
#include <torch/library.h>

#include "op_schemas.h"

TORCH_LIBRARY(gru4rec_fast, m) {
  for (const char* schema : gru4rec::kOpSchemas) m.def(schema);
}
