"""Synthetic logs: shape, determinism, split, and learnable sequential structure."""
import numpy as np
import pandas as pd
import pytest

from gru4rec_fast.data import SessionDataset, synthetic


def test_shape_and_determinism():
    a = synthetic.generate(20_000, 1_000, seed=4)
    b = synthetic.generate(20_000, 1_000, seed=4)
    c = synthetic.generate(20_000, 1_000, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert len(a) == 20_000 and list(a.columns) == ["SessionId", "ItemId", "Time"]
    lengths = a.groupby("SessionId").size()
    assert lengths.min() >= 1 and 3.5 < lengths.mean() < 4.5
    assert (lengths.iloc[:-1] >= 2).all()              # the last may be cut
    counts = a["ItemId"].value_counts().to_numpy()
    assert counts[0] > 20 * np.median(counts)          # heavy head: Zipf-like
    s = a.sort_values(["SessionId", "Time"], kind="mergesort")
    same = s["SessionId"].to_numpy()[1:] == s["SessionId"].to_numpy()[:-1]
    assert (s["ItemId"].to_numpy()[1:][same] != s["ItemId"].to_numpy()[:-1][same]).mean() > 0.99
    starts = a.groupby("SessionId")["Time"].min()
    assert starts.is_monotonic_increasing
    SessionDataset.from_events(a)                      # loads cleanly


def test_split_by_time():
    df = synthetic.generate(30_000, 800, seed=1, n_days=10)
    train, test = synthetic.split(df, test_days=2)
    t_split = df["Time"].max() - 2 * 86400
    assert train["Time"].max() < t_split
    assert test.groupby("SessionId")["Time"].min().min() >= t_split
    assert set(test["ItemId"]) <= set(train["ItemId"])
    assert train.groupby("SessionId").size().min() >= 2
    assert test.groupby("SessionId").size().min() >= 2


def _pairs(df):
    s = df.sort_values(["SessionId", "Time"], kind="mergesort")
    sid, item = s["SessionId"].to_numpy(), s["ItemId"].to_numpy()
    same = sid[1:] == sid[:-1]
    return item[:-1][same], item[1:][same]


def test_markov_beats_popularity():
    train, test = synthetic.split(synthetic.generate(150_000, 2_000, seed=2, n_days=20), 2)
    prev, nxt = _pairs(train)
    pop_top = pd.Series(train["ItemId"]).value_counts().index[:20].to_numpy()
    co = pd.DataFrame({"p": prev, "n": nxt}).value_counts().reset_index(name="c")
    co = co.sort_values(["p", "c"], ascending=[True, False], kind="mergesort")
    top = {p: g["n"].to_numpy()[:20] for p, g in co.groupby("p")}
    tp, tn = _pairs(test)
    pop_hit = np.isin(tn, pop_top).mean()
    markov_hit = np.mean([t in top.get(p, pop_top) for p, t in zip(tp, tn)])
    assert markov_hit > pop_hit + 0.2 and markov_hit > 2 * pop_hit, (markov_hit, pop_hit)


def test_presets():
    assert {"small", "retailrocket-like", "yoochoose-like", "diginetica-like"} <= set(synthetic.PRESETS)
    train, test = synthetic.preset("tiny", seed=0)
    assert len(train) > len(test) > 0
    with pytest.raises(ValueError, match="unknown synthetic preset"):
        synthetic.preset("huge")
