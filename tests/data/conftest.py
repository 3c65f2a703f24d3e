"""Fixtures of the data-layer tests."""
import pathlib

import pytest

FILES = pathlib.Path(__file__).resolve().parent / "files"
DIGI_NAME = "diginetica_sample_train-item-views.csv"


@pytest.fixture
def diginetica_sample():
    """The real raw Diginetica sample kept in the repository (tests/data/files/, see its
    README for the origin); a missing file is an error, not a skip."""
    path = FILES / DIGI_NAME
    assert path.is_file(), f"{path} is missing from the checkout"
    return path
