"""Data layer of gru4rec_fast: loading and validation, sessions, the epoch schedule,
negative sampling, synthetic data and preprocessing of public data sets."""
from .errors import DataError
from .loading import read_events, validate_events
from .item_index import ItemIndex
from .sessions import SessionDataset
from .schedule import Schedule, build_schedule, assign_slots
from .sample_store import SampleStore, sampling_cdf, uniform_to_ids
from .splitting import time_split
from . import synthetic, preprocess

__all__ = ["DataError", "read_events", "validate_events", "ItemIndex", "SessionDataset",
           "Schedule", "build_schedule", "assign_slots", "SampleStore", "sampling_cdf",
           "uniform_to_ids", "time_split", "synthetic", "preprocess"]
