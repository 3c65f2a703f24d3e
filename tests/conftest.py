"""Shared fixtures and the CUDA skip rule. Nothing here touches the GPU at import time,
so collection works on CPU-only CI."""
import zlib

import pytest

from support import cuda_skip_reason, cuda_usable


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a GPU and the extension's CUDA kernels")
    config.addinivalue_line("markers", "cuda_emu: runs the CUDA kernels on the CPU emulation "
                                       "of the CUDA execution model (tests/cuda_emu.py)")
    config.addinivalue_line("markers", "slow: trains a model for seconds; `-m 'not slow'` "
                                       "leaves these out for a quick loop")


def pytest_runtest_setup(item):
    if item.get_closest_marker("cuda") is not None and not cuda_usable():
        # Skipped only where no GPU exists; a GPU with a build that lacks the CUDA
        # kernels is a broken build and fails (cuda_skip_reason raises then).
        pytest.skip(cuda_skip_reason())


@pytest.fixture(autouse=True)
def _route_cuda_emu(request, monkeypatch):
    """For a `cuda_emu` test: every op of gru4rec_fast runs the CUDA kernels on the CPU
    emulation (the emulation module stands in for gru4rec_fast._C, its operators
    torch.ops.gru4rec_fast_emu for torch.ops.gru4rec_fast), with a thread order seeded
    from the test's id, so a failure reproduces."""
    if request.node.get_closest_marker("cuda_emu") is None:
        yield None
        return
    import cuda_emu
    from gru4rec_fast import _ext
    mod = cuda_emu.module()
    mod.set_schedule_seed(cuda_emu.base_seed() + zlib.crc32(request.node.nodeid.encode()))
    emu_ops = cuda_emu.ops()
    monkeypatch.setattr(_ext, "ext", lambda: mod)
    monkeypatch.setattr(_ext, "ops", lambda: emu_ops)
    yield mod
