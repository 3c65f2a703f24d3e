#!/usr/bin/env bash
# Installs gru4rec_fast from this checkout: torch 2.14.1 (CUDA 13.0 build), the build
# tools, then compiles the extension with CUDA when torch has CUDA and nvcc exists.
# Environment: GRU4REC_FAST_CPU_ONLY=1 to skip CUDA; TORCH_CUDA_ARCH_LIST (default
# "8.0;9.0"); MAX_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/cuda/bin:$PATH"
export MAX_JOBS="${MAX_JOBS:-2}"
python -m pip install -q "torch==2.14.1" numpy pandas pyarrow tqdm pybind11 ninja pytest setuptools wheel
python -m pip install -q --no-build-isolation -e .
# pyenv only sees new console scripts (gru4rec-fast) after a rehash.
if command -v pyenv > /dev/null 2>&1; then pyenv rehash || true; fi
python -c "import torch, gru4rec_fast._C as c; print('gru4rec_fast extension built, CUDA kernels:', c.with_cuda())"
