#!/usr/bin/env bash
# The one prepared GPU run (device machine: torch 2.11.0+cu130, nvcc, no network).
# Builds the extension for the card, runs the CUDA tests, then the op, training and
# evaluation benchmarks, and writes everything under $OUT (or ./gpu_out): build.log,
# tests.log, ops_cuda.md, train/ (train.md, train.png), eval_cuda.md, summary.md. Usage, from the repository root:
#     bash benches/gpu_check.sh
# Commit $OUT/summary.md as benches/results/<date>_<card>.md afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/gpu_out}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1
export PATH="/usr/local/cuda/bin:$PATH"
export MAX_JOBS="${MAX_JOBS:-16}"
# Build only for the card present (fast); sm_90 for H100/H200.
cap=$(python3 -c "import torch; c=torch.cuda.get_device_capability(); print(f'{c[0]}.{c[1]}')" 2>/dev/null || echo "9.0")
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$cap}"
card=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
{
  echo "# gru4rec_fast GPU check"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- card: ${card:-unknown}"
  echo "- torch: $(python3 -c 'import torch; print(torch.__version__)')"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
} > "$out/summary.md"

t0=$(date +%s)
if GRU4REC_FAST_FORCE_CUDA=1 python3 setup.py build_ext --inplace > "$out/build.log" 2>&1; then
  echo "- build: ok ($(( $(date +%s) - t0 )) s, archs $TORCH_CUDA_ARCH_LIST)" >> "$out/summary.md"
else
  echo "- build: FAILED (see build.log)" >> "$out/summary.md"
  tail -50 "$out/build.log"
  cat "$out/summary.md"
  exit 1
fi

# Every test; the CUDA-parametrised ones now run instead of skipping.
python3 -m pytest -q -p no:cacheprovider tests > "$out/tests.log" 2>&1
echo "- tests: $(tail -1 "$out/tests.log")" >> "$out/summary.md"
echo >> "$out/summary.md"

python3 benches/ops.py --device cuda --out "$out/ops_cuda.md" > "$out/ops_cuda.log" 2>&1 \
  || echo "- benches/ops.py --device cuda FAILED (see ops_cuda.log)" >> "$out/summary.md"
[ -f "$out/ops_cuda.md" ] && cat "$out/ops_cuda.md" >> "$out/summary.md"

# Training: the published shapes (fused C++ loop vs the reference backend on the card),
# then evaluation. Short windows: the whole script must fit the 15-minute device budget.
python3 benches/train.py --device cuda --threads 8 --seconds 3 --only published \
  --out "$out/train" > "$out/train_cuda.log" 2>&1 \
  || echo "- benches/train.py --device cuda FAILED (see train_cuda.log)" >> "$out/summary.md"
[ -f "$out/train/train.md" ] && { echo; cat "$out/train/train.md"; } >> "$out/summary.md"
python3 benches/eval.py --device cuda --threads 8 --out "$out/eval_cuda.md" > "$out/eval_cuda.log" 2>&1 \
  || echo "- benches/eval.py --device cuda FAILED (see eval_cuda.log)" >> "$out/summary.md"
[ -f "$out/eval_cuda.md" ] && { echo; cat "$out/eval_cuda.md"; } >> "$out/summary.md"
cat "$out/summary.md"
