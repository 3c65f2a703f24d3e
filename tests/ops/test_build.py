"""The extension is built, loads, and carries CUDA kernels whenever it could."""
import os
import pathlib
import shutil

import pytest
import torch

from gru4rec_fast import _ext


def test_extension_loads():
    assert _ext.available(), "gru4rec_fast._C did not load; run the README's install command"


def _cuda_build_expected():
    if os.environ.get("GRU4REC_FAST_CPU_ONLY", "").lower() in ("1", "true", "yes", "on"):
        return False
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    nvcc = shutil.which("nvcc") or (pathlib.Path(cuda_home) / "bin" / "nvcc")
    return torch.version.cuda is not None and pathlib.Path(nvcc).exists()


def test_cuda_kernels_compiled_in_cuda_build():
    if not _cuda_build_expected():
        pytest.skip("CPU-only build requested (GRU4REC_FAST_CPU_ONLY) or torch/nvcc lack CUDA")
    assert _ext.with_cuda(), "torch has CUDA and nvcc exists, yet the extension lacks CUDA"
    # The device code itself must be in the binary, not only the macro: look for the
    # ELF section that holds the CUDA fat binary.
    so_path = pathlib.Path(_ext.ext().__file__)
    assert b".nv_fatbin" in so_path.read_bytes(), f"{so_path} holds no CUDA fat binary"


def test_missing_extension_error_says_how_to_build(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "gru4rec_fast" and fromlist and "_C" in fromlist:
            raise ImportError("simulated missing extension")
        return real_import(name, globals, locals, fromlist, level)

    _ext.ext.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake_import)
    try:
        with pytest.raises(_ext.ExtensionNotBuiltError, match="pip install --no-build-isolation"):
            _ext.ext()
    finally:
        monkeypatch.undo()
        _ext.ext.cache_clear()


@pytest.mark.slow
def test_extension_loads_in_a_fresh_interpreter_without_importing_torch_first():
    """`_ext.available()` must not depend on the caller having imported torch."""
    import subprocess
    import sys
    code = "from gru4rec_fast import _ext; print(_ext.available())"
    root = pathlib.Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "True", out.stderr
