"""The time-based train/test split of the RecSys 2023 study (docs/algorithm.md, Public data sets).

t_split = (last timestamp) - test_days * 86400. Sessions whose first event is at or after
t_split go to test; events before t_split go to train (a session that straddles t_split
keeps its part before it in train). Train sessions left with fewer than 2 events are
dropped; test events of items absent from train are dropped, then test sessions shorter
than 2. Applying the same split to train gives train_tr / train_valid.
"""
import numpy as np
import pandas as pd

DAY = 86400


def _session_codes(sessions):
    codes, _ = pd.factorize(sessions, sort=False)
    return codes


def drop_short_sessions(df, session_key="SessionId", min_length=2):
    """Rows of sessions with at least ``min_length`` events (a new DataFrame)."""
    codes = _session_codes(df[session_key].to_numpy())
    counts = np.bincount(codes)
    return df[counts[codes] >= min_length]


def time_split(df, test_days, session_key="SessionId", item_key="ItemId", time_key="Time"):
    """(train, test) DataFrames split as described in the module doc. ``df`` is not
    modified; time is in seconds."""
    time = df[time_key].to_numpy()
    codes = _session_codes(df[session_key].to_numpy())
    first = np.full(codes.max() + 1 if len(codes) else 0, np.inf)
    np.minimum.at(first, codes, time.astype(np.float64))
    t_split = float(time.max()) - float(test_days) * DAY
    in_test = first[codes] >= t_split
    train = df[time < t_split]
    train = drop_short_sessions(train, session_key)
    test = df[in_test]
    known = pd.Index(pd.unique(train[item_key].to_numpy()))
    test = test[known.get_indexer(test[item_key].to_numpy()) >= 0]
    test = drop_short_sessions(test, session_key)
    return train.reset_index(drop=True), test.reset_index(drop=True)
