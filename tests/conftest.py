"""Shared fixtures and the CUDA skip rule. Nothing here touches the GPU at import time,
so collection works on CPU-only CI."""
import pytest

from support import cuda_skip_reason, cuda_usable


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a GPU and the extension's CUDA kernels")


def pytest_runtest_setup(item):
    if item.get_closest_marker("cuda") is not None and not cuda_usable():
        pytest.skip(cuda_skip_reason())
