"""Builds and loads gru4rec_fast_cuda_emu: the CUDA kernels of csrc/cuda/kernels/ compiled
as host C++ against the CPU emulation of the CUDA execution model (csrc/emu/), so that the
op tests can run every CUDA kernel on CPU tensors (the `cuda-emu` device of support.py).

The module is compiled from the checkout's sources by torch.utils.cpp_extension.load into
build/cuda_emu (build/cuda_emu_asan with sanitizers); ninja rebuilds it when a source or a
header changed, so editing a kernel and running pytest tests the edit. setup.py never
builds it. Environment:
  GRU4REC_EMU_SANITIZE=1   build with -fsanitize=address,undefined (the Python process
                           must then run with the ASan runtime preloaded; see .ci/run)
  GRU4REC_EMU_SEED=N       base seed of the random thread order (default 0)
"""
import functools
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSRC = os.path.join(ROOT, "csrc")
SOURCES = [os.path.join(CSRC, "emu", "emu_module.cpp"), os.path.join(CSRC, "emu", "cuda_emu.cpp")]


def sanitized():
    """True when the emulation is built (and must run) under ASan and UBSan."""
    return os.environ.get("GRU4REC_EMU_SANITIZE", "").strip().lower() in ("1", "true", "yes", "on")


def base_seed():
    """The base seed of the emulated thread order (GRU4REC_EMU_SEED, default 0)."""
    return int(os.environ.get("GRU4REC_EMU_SEED", "0"))


@functools.lru_cache(maxsize=None)
def module():
    """The emulation module, compiled first when missing or stale (about a minute)."""
    import torch  # noqa: F401  (the module links against torch's libraries)
    from torch.utils.cpp_extension import load

    san = sanitized()
    build = os.path.join(ROOT, "build", "cuda_emu_asan" if san else "cuda_emu")
    os.makedirs(build, exist_ok=True)
    # -O1: the kernels' loops run per emulated thread, -O0 would be slow and -O2 only
    # lengthens the build. -ffp-contract=off: no fused multiply-adds beyond the kernels'
    # explicit fma calls, like the CPU kernels (nvcc contracts by default: a GPU's last
    # bits may differ from the emulation's).
    flags = ["-O1", "-g0", "-ffp-contract=off", "-DG4R_CUDA_EMU", "-DWITH_CUDA",
             "-Wno-unused-function"]
    ldflags = []
    if san:
        flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                  "-fno-sanitize-recover=undefined"]
        ldflags += ["-fsanitize=address,undefined"]
    name = "gru4rec_fast_cuda_emu_asan" if san else "gru4rec_fast_cuda_emu"
    print(f"cuda_emu: building/loading {name} in {build}", file=sys.stderr)
    return load(name=name, sources=SOURCES, extra_include_paths=[CSRC], extra_cflags=flags,
                extra_ldflags=ldflags, build_directory=build, verbose=False)


def ops():
    """torch.ops.gru4rec_fast_emu: the emulation's operators (same schemas as
    torch.ops.gru4rec_fast), with the package's fake kernels and autograd registered."""
    from gru4rec_fast.ops import _library
    return _library.register(module().ops_namespace)
