#!/usr/bin/env bash
# Compile one or more .cu files alone (no link) the way setup.py does, for one arch, to
# catch CUDA compile errors in seconds instead of a full build:
#     bash scripts/nvcc_check.sh csrc/cuda/fused_loss_cuda.cu [...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/cuda/bin:$PATH"
inc=$(python - <<'PY'
from torch.utils.cpp_extension import include_paths
import sysconfig
print(" ".join("-I" + p for p in include_paths(device_type="cuda") + [sysconfig.get_paths()["include"], "csrc"]))
PY
)
for f in "$@"; do
  echo "nvcc: $f"
  nvcc -c "$f" -o /tmp/nvcc_check_$$.o $inc -DWITH_CUDA -std=c++20 -O3 --expt-relaxed-constexpr \
    -gencode arch=compute_90,code=sm_90 -D__CUDA_NO_HALF_OPERATORS__ -D__CUDA_NO_HALF_CONVERSIONS__ \
    -D__CUDA_NO_BFLOAT16_CONVERSIONS__ -D__CUDA_NO_HALF2_OPERATORS__ --compiler-options '-fPIC' \
    -DTORCH_EXTENSION_NAME=_C -DTORCH_API_INCLUDE_EXTENSION_H
done
rm -f /tmp/nvcc_check_$$.o
echo "nvcc_check: ok"
