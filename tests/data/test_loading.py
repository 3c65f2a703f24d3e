"""Loaders and validation errors (messages asserted)."""
import pickle

import numpy as np
import pandas as pd
import pytest

from gru4rec_fast.data import DataError, ItemIndex, SessionDataset, read_events


def frame(items=None):
    return pd.DataFrame({"SessionId": [1, 1, 2, 2, 2, 3],
                         "ItemId": items if items is not None else [10, 11, 10, 12, 13, 11],
                         "Time": [5, 6, 1, 2, 3, 9]})


@pytest.mark.parametrize("ext", [".tsv", ".txt", ".csv", ".parquet", ".pkl", ".tsv.gz"])
def test_every_loader(tmp_path, ext):
    df = frame(["a", "b", "a", "c", "d", "b"])
    path = tmp_path / f"events{ext}"
    if ext.startswith((".tsv", ".txt")):
        df.to_csv(path, sep="\t", index=False)
    elif ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".parquet":
        df.to_parquet(path)
    else:
        df.to_pickle(path)
    out = read_events(path)
    assert list(out.columns) == ["SessionId", "ItemId", "Time"]
    assert [str(x) for x in out["ItemId"]] == ["a", "b", "a", "c", "d", "b"]
    data = SessionDataset.from_events(path)
    assert list(data.item_index.ids) == ["a", "b", "c", "d"]
    assert isinstance(data.item_index.ids[0], str)


def test_dataframe_and_custom_columns():
    df = frame().rename(columns={"SessionId": "s", "ItemId": "i", "Time": "t"})
    data = SessionDataset.from_events(df, session_key="s", item_key="i", time_key="t")
    assert list(data.item_index.ids) == [10, 11, 12, 13]
    assert data.item_index.ids.dtype.kind == "i"


def test_caller_frame_not_mutated():
    df = frame()
    df = df.iloc[::-1]                      # unsorted, forces the sort path
    before = df.copy(deep=True)
    data = SessionDataset.from_events(df)
    SessionDataset.from_events(df, item_index=data.item_index)
    pd.testing.assert_frame_equal(df, before)


def write(tmp_path, df, name="train.tsv"):
    path = tmp_path / name
    df.to_csv(path, sep="\t", index=False)
    return path


def test_missing_column(tmp_path):
    path = write(tmp_path, frame().drop(columns=["ItemId"]))
    with pytest.raises(DataError, match=r"train\.tsv: missing column 'ItemId' \(found: "
                                        r"'SessionId', 'Time'\)"):
        read_events(path)
    with pytest.raises(DataError, match=r"<DataFrame>: missing columns 'ItemId', 'Time'"):
        read_events(frame()[["SessionId"]])


def test_missing_ids(tmp_path):
    df = frame().astype({"ItemId": float})
    df.loc[3, "ItemId"] = np.nan
    df.loc[5, "ItemId"] = np.nan
    path = write(tmp_path, df)
    with pytest.raises(DataError, match=r"train\.tsv: column 'ItemId' has 2 missing values "
                                        r"\(first at row 3\)"):
        read_events(path)
    df = frame().astype({"SessionId": object})
    df.loc[4, "SessionId"] = None
    with pytest.raises(DataError, match=r"column 'SessionId' has 1 missing values \(first at row 4\)"):
        read_events(df)


def test_empty_string_ids():
    df = frame(["a", "b", "", "c", "  ", "b"])
    with pytest.raises(DataError, match=r"<DataFrame>: column 'ItemId' has 2 empty values "
                                        r"\(first at row 2\)"):
        read_events(df)


def test_missing_and_non_numeric_times(tmp_path):
    df = frame().astype({"Time": float})
    df.loc[1, "Time"] = np.nan
    with pytest.raises(DataError, match=r"train\.tsv: column 'Time' has 1 missing values "
                                        r"\(first at row 1\)"):
        read_events(write(tmp_path, df))
    df = frame().astype({"Time": object})
    df.loc[2, "Time"] = "noon"
    with pytest.raises(DataError, match=r"train\.tsv: column 'Time' is not numeric \(1 values "
                                        r"are not numbers, first 'noon' at row 2\)"):
        read_events(write(tmp_path, df))


def test_numeric_strings_and_datetimes_are_times():
    df = frame().astype({"Time": str})
    assert read_events(df)["Time"].tolist() == [5, 6, 1, 2, 3, 9]
    df = frame()
    df["Time"] = pd.to_datetime(df["Time"], unit="s")
    assert read_events(df)["Time"].tolist() == [5.0, 6.0, 1.0, 2.0, 3.0, 9.0]


def test_empty_table_and_bad_inputs(tmp_path):
    with pytest.raises(DataError, match=r"train\.tsv: the table has no rows"):
        read_events(write(tmp_path, frame().iloc[:0]))
    with pytest.raises(DataError, match=r"events\.json: unknown file type '\.json'"):
        read_events(tmp_path / "events.json")
    with pytest.raises(DataError, match=r"nope\.tsv: no such file"):
        read_events(tmp_path / "nope.tsv")
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataError, match=r"x\.pkl: the pickle holds a list, not a pandas DataFrame"):
        read_events(p)
    with pytest.raises(DataError, match="non-integral float ids"):
        read_events(frame([1.5, 2, 3, 4, 5, 6]))


def test_no_session_with_two_events(tmp_path):
    df = pd.DataFrame({"SessionId": [1, 2, 3], "ItemId": [1, 2, 3], "Time": [1, 2, 3]})
    with pytest.raises(DataError, match=r"train\.tsv: no session has 2 or more events \(3 "
                                        r"sessions, all of length 1; column 'SessionId'\); "
                                        "nothing to train on"):
        SessionDataset.from_events(write(tmp_path, df))


def test_test_set_without_known_items(tmp_path):
    train = SessionDataset.from_events(frame())
    test = pd.DataFrame({"SessionId": [7, 7], "ItemId": [98, 99], "Time": [1, 2]})
    with pytest.raises(DataError, match=r"test\.tsv: none of the 2 events has an item known "
                                        r"to the training data \(column 'ItemId'\)"):
        SessionDataset.from_events(write(tmp_path, test, "test.tsv"),
                                   item_index=train.item_index)
    test = pd.DataFrame({"SessionId": [7, 7, 8], "ItemId": [10, 99, 11], "Time": [1, 2, 3]})
    with pytest.raises(DataError, match=r"<DataFrame>: no session has 2 or more events of "
                                        r"items known to the training data \(1 events of "
                                        r"unknown items dropped\); nothing to evaluate"):
        SessionDataset.from_events(test, item_index=train.item_index)


def test_item_index_mapping():
    idx = ItemIndex(np.array(["x", "y", "z"], dtype=object))
    np.testing.assert_array_equal(idx.map_items(["z", "q", "x"]), [2, -1, 0])
    idx = ItemIndex(np.array([5, 3, 9]))
    np.testing.assert_array_equal(idx.map_items(np.array([9, 4, 5])), [2, -1, 0])
    np.testing.assert_array_equal(idx.map_items(["9"]), [-1])   # types are not coerced
