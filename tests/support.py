"""Helpers shared by the test modules (importable as `support`; pytest puts tests/ on
sys.path via pyproject's pythonpath). Nothing here queries the GPU at import time."""
import functools

import pytest
import torch


@functools.lru_cache(maxsize=None)
def cuda_usable():
    """True when a GPU is present and the extension carries CUDA kernels."""
    if not torch.cuda.is_available():
        return False
    from gru4rec_fast import _ext
    return _ext.available() and _ext.with_cuda()


def cuda_skip_reason():
    """Why a CUDA test may be skipped here; fails the test when it may not (a GPU is
    present, so a CUDA test that cannot run means the build is broken)."""
    import os
    if not torch.cuda.is_available():
        return "CUDA test: no GPU on this machine"
    if os.environ.get("GRU4REC_FAST_CPU_ONLY", "").strip().lower() in ("1", "true", "yes", "on"):
        return "CUDA test: CPU-only build requested (GRU4REC_FAST_CPU_ONLY)"
    pytest.fail("a GPU is present but gru4rec_fast._C has no CUDA kernels (or did not load): "
                "rebuild with the README's install command", pytrace=False)


class EmulatedCuda(str):
    """The `cuda-emu` device: the string "cpu" to torch (tensors live on the CPU), while
    conftest routes the ops to the CUDA kernels on the CPU emulation (tests/cuda_emu.py)."""


CUDA_EMU = EmulatedCuda("cpu")


def is_emulated(device):
    """True for the `cuda-emu` device (the CUDA kernels on the CPU emulation)."""
    return isinstance(device, EmulatedCuda)


# Parametrise an op test over devices: `@pytest.mark.parametrize("device", DEVICES)`.
# The CUDA case carries the `cuda` marker; conftest skips it, with the reason, where no
# usable GPU exists, so it shows as skipped (never as a pass) on CPU CI. The `cuda-emu`
# case runs everywhere: the CUDA kernels' own code, emulated on CPU tensors; it carries
# the `cuda_emu` marker (`python -m pytest -m cuda_emu` runs exactly these).
# CPU vs CUDA results of one op on the same inputs agree to this, not bit for bit: nvcc
# contracts a*b+c into FMAs (the CPU build and the emulation do not), CUDA's expf / logf /
# log1pf are not glibc's, the CPU loss kernel's float32 exp is its own polynomial (within
# 1 ulp, tests/ops/test_loss_terms.py), and row sums run in other orders (CPU: 8 float64
# lanes; CUDA: a per-block tree in the row's dtype). The formulas themselves are one
# source (csrc/common/). atol is relative to the result's magnitude (max(1, max |x|));
# docs/development.md, "Cross-device tolerance".
CROSS_DEVICE_TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6),
                    torch.float64: dict(rtol=1e-12, atol=1e-14)}

DEVICES = [pytest.param("cpu", id="cpu"),
           pytest.param("cuda", id="cuda", marks=pytest.mark.cuda),
           pytest.param(CUDA_EMU, id="cuda-emu", marks=pytest.mark.cuda_emu)]
