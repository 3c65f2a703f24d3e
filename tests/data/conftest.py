"""Fixtures of the data-layer tests."""
import os
import pathlib

import pytest

_HERE = pathlib.Path(__file__).resolve()
DIGI_NAME = "diginetica_sample_train-item-views.csv"


@pytest.fixture
def diginetica_sample():
    """The real raw Diginetica sample in ../shared/data; looked for beside the checkout
    (as the top conftest does) and one level further up (worktrees under wt/)."""
    candidates = [os.environ.get("GRU4REC_FAST_SHARED_DATA", ""),
                  _HERE.parents[3] / "shared" / "data", _HERE.parents[4] / "shared" / "data"]
    for c in candidates:
        if c and (pathlib.Path(c) / DIGI_NAME).is_file():
            return pathlib.Path(c) / DIGI_NAME
    pytest.skip(f"{DIGI_NAME} not found in {[str(c) for c in candidates if c]}")
