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
# tune: paropt's extra (optuna, matplotlib, the psycopg PostgreSQL driver)
python -m pip install -q --no-build-isolation -e ".[tune]"
# pyenv only sees new console scripts (gru4rec-fast) after a rehash.
if command -v pyenv > /dev/null 2>&1; then pyenv rehash || true; fi
python -c "import torch, gru4rec_fast._C as c; print('gru4rec_fast extension built, CUDA kernels:', c.with_cuda())"

# A PostgreSQL server for the many-machine paropt test (tests/tune/test_paropt_postgres.py
# starts a throwaway cluster of its own; without the server binaries it is skipped).
# Debian/Ubuntu only; nothing to do when the binaries are there already.
install_postgresql() {
    if command -v pg_ctl > /dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl > /dev/null 2>&1; then
        return 0
    fi
    if ! command -v apt-get > /dev/null 2>&1; then
        echo "install.sh: no apt-get here; install a PostgreSQL server for the paropt PostgreSQL test"
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo > /dev/null 2>&1; then
            echo "install.sh: not root and no sudo; skipping the PostgreSQL server install"
            return 0
        fi
        sudo="sudo"
    fi
    # The package must not start a system server: where no policy exists yet, a
    # policy-rc.d that denies service starts is in place for the install only.
    local policy=/usr/sbin/policy-rc.d added="" status=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" > /dev/null
        $sudo chmod 755 "$policy"
        added=1
    fi
    { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          postgresql > /dev/null; } || status=$?
    if [ -n "$added" ]; then $sudo rm -f "$policy"; fi
    return $status
}
install_postgresql
echo "PostgreSQL server: $(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | tail -1 || true)"
