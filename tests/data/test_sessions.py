"""SessionDataset against a plain pandas computation."""
import logging

import numpy as np
import pandas as pd

from gru4rec_fast.data import SessionDataset


def random_events(rng, n=400, n_sess=60, n_items=30, str_items=False):
    df = pd.DataFrame({"SessionId": rng.integers(0, n_sess, n),
                       "ItemId": rng.integers(0, n_items, n),
                       "Time": rng.integers(0, 50, n)})   # many ties
    if str_items:
        df["ItemId"] = "it" + df["ItemId"].astype(str)
    return df


def expected_layout(df, time_sort=True):
    items = pd.unique(df["ItemId"])                 # first appearance, file order
    code = {v: i for i, v in enumerate(items)}
    s = df.sort_values(["SessionId", "Time"], kind="mergesort")
    groups = [(sid, g) for sid, g in s.groupby("SessionId", sort=True)]
    if time_sort:
        groups.sort(key=lambda x: x[1]["Time"].iloc[0])   # stable: ties keep id order
    seqs = [[code[v] for v in g["ItemId"]] for _, g in groups]
    return items, [sid for sid, _ in groups], seqs


def test_layout_matches_pandas():
    rng = np.random.default_rng(0)
    for trial in range(8):
        df = random_events(rng, str_items=trial % 2 == 1)
        for time_sort in (True, False):
            data = SessionDataset.from_events(df, time_sort=time_sort)
            items, sids, seqs = expected_layout(df, time_sort)
            assert list(data.item_index.ids) == list(items)
            assert list(data.session_ids) == sids
            got = [list(data.items[a:b]) for a, b in zip(data.offsets[:-1], data.offsets[1:])]
            assert got == seqs
            np.testing.assert_array_equal(
                data.supports, np.bincount(np.concatenate(seqs), minlength=len(items)))
            assert data.items.dtype == np.int32 and data.offsets.dtype == np.int64


def test_sorted_input_is_kept():
    df = pd.DataFrame({"SessionId": [1, 1, 2, 2, 3, 3], "ItemId": [4, 5, 6, 4, 5, 6],
                       "Time": [1, 1, 0, 3, 2, 2]})
    data = SessionDataset.from_events(df, time_sort=False)
    np.testing.assert_array_equal(data.items, [0, 1, 2, 0, 1, 2])
    data = SessionDataset.from_events(df)           # order by first time: 2, 1, 3
    assert list(data.session_ids) == [2, 1, 3]
    np.testing.assert_array_equal(data.start_times, [0, 1, 2])


def test_test_data_drops_unknown_and_short(caplog):
    train = SessionDataset.from_events(pd.DataFrame(
        {"SessionId": [1, 1, 2, 2], "ItemId": ["a", "b", "c", "a"], "Time": [1, 2, 3, 4]}))
    test_df = pd.DataFrame({"SessionId": [5, 5, 5, 6, 6, 7, 7],
                            "ItemId": ["a", "x", "b", "y", "c", "c", "b"],
                            "Time": [1, 2, 3, 4, 5, 6, 7]})
    with caplog.at_level(logging.WARNING, logger="gru4rec_fast.data"):
        test = SessionDataset.from_events(test_df, item_index=train.item_index)
    assert test.n_unknown_dropped == 2 and test.n_short_sessions_dropped == 1
    assert "dropped 2 events of items unknown" in caplog.text
    assert list(test.session_ids) == [5, 7]
    np.testing.assert_array_equal(test.items, [0, 1, 2, 1])
    assert test.n_items == 3


def test_length_one_sessions_kept_in_training():
    df = pd.DataFrame({"SessionId": [1, 2, 2], "ItemId": [1, 2, 3], "Time": [0, 1, 2]})
    data = SessionDataset.from_events(df)
    assert data.n_sessions == 2 and list(data.lengths) == [1, 2]
    sched = data.schedule(batch_size=2)
    assert sched.n_steps == 1 and list(sched.in_items) == [1] and list(sched.out_items) == [2]


def test_test_events_with_equal_times_are_ordered_by_item_id():
    # Issue 11, item 5: the original's evaluation sorts test events by (session, time,
    # item), so a file's order among same-time events does not change the result.
    train = SessionDataset.from_events(pd.DataFrame(
        {"SessionId": [1, 1, 1, 1], "ItemId": [30, 10, 20, 40], "Time": [1, 2, 3, 4]}))
    rows = {"SessionId": [9, 9, 9, 9], "ItemId": [40, 20, 10, 30], "Time": [5, 7, 7, 7]}
    test = SessionDataset.from_events(pd.DataFrame(rows), item_index=train.item_index)
    ids = train.item_index.ids[test.items].tolist()
    assert ids == [40, 10, 20, 30]                  # time 5 first, then items ascending
    shuffled = pd.DataFrame(rows).iloc[[0, 3, 1, 2]]
    again = SessionDataset.from_events(shuffled, item_index=train.item_index)
    np.testing.assert_array_equal(again.items, test.items)
    # training data keeps the file's order among equal times (stable)
    tr = SessionDataset.from_events(pd.DataFrame(rows))
    assert tr.item_index.ids[tr.items].tolist() == [40, 20, 10, 30]


def test_string_item_ids_order_lexicographically_in_ties():
    train = SessionDataset.from_events(pd.DataFrame(
        {"SessionId": [1, 1, 1], "ItemId": ["b", "c", "a"], "Time": [1, 2, 3]}))
    test = SessionDataset.from_events(pd.DataFrame(
        {"SessionId": ["s", "s", "s"], "ItemId": ["c", "a", "b"], "Time": [0, 0, 0]}),
        item_index=train.item_index)
    assert train.item_index.ids[test.items].tolist() == ["a", "b", "c"]


def test_sessions_with_equal_start_times_are_ordered_by_id():
    # Issue 11, item 6: ties in the session start time go by session id, whatever the
    # file order, so a seeded schedule does not depend on how the file was written.
    df = pd.DataFrame({"SessionId": [7, 7, 3, 3, 5, 5, 1, 1],
                       "ItemId": [1, 2, 3, 4, 5, 6, 7, 8],
                       "Time": [10, 11, 10, 12, 10, 13, 5, 6]})
    data = SessionDataset.from_events(df)
    assert list(data.session_ids) == [1, 3, 5, 7]
    again = SessionDataset.from_events(df.iloc[::-1])
    assert list(again.session_ids) == [1, 3, 5, 7]
