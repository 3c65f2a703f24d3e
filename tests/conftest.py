"""Shared fixtures and the CUDA skip rule. Nothing here touches the GPU at import time,
so collection works on CPU-only CI."""
import pytest

from support import cuda_skip_reason, cuda_usable


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a GPU and the extension's CUDA kernels")
    config.addinivalue_line("markers", "slow: trains a model for seconds; `-m 'not slow'` "
                                       "leaves these out for a quick loop")


def pytest_runtest_setup(item):
    if item.get_closest_marker("cuda") is not None and not cuda_usable():
        # Skipped only where no GPU exists; a GPU with a build that lacks the CUDA
        # kernels is a broken build and fails (cuda_skip_reason raises then).
        pytest.skip(cuda_skip_reason())
