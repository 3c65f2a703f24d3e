"""Model tests: make model_helpers importable (tests/model is not a package)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """The model tests run tiny matrices: intra-op threads only add synchronisation, and
    on a loaded 2-core CI box spinning OpenMP threads made them ~10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
