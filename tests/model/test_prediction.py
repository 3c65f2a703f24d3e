"""predict_next (batch prediction) and embeddings out, held against recommend."""
import functools
import os

import numpy as np
import pandas as pd
import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.data import DataError
from model_helpers import tiny


@functools.lru_cache(maxsize=None)
def _trained_cached(kind):
    train, _ = tiny()
    params = {
        # float64: the batched and the one-by-one runs then agree far below any gap
        # between neighbouring scores, so the ranked ids must match exactly
        "shared": dict(layers=[16], constrained_embedding=True, dtype="float64"),
        "separate": dict(layers=[8, 12], constrained_embedding=False, embedding=8,
                         dtype="float64"),
        "softmax": dict(layers=[16], constrained_embedding=False, final_act="softmax",
                        loss="cross-entropy", dtype="float64"),
    }[kind]
    m = GRU4Rec(seed=3, n_sample=32, n_epochs=1, **params)
    m.fit(train, max_steps=40, verbose=False, sample_store_size=50_000)
    return m


def trained(kind="shared"):
    m = _trained_cached(kind)
    m.forget()
    return m


def small_test(n_sessions=12):
    """A few test sessions, shuffled so that input order differs from id and time order."""
    _, test = tiny()
    keep = test["SessionId"].drop_duplicates().to_numpy()[:n_sessions]
    df = test[test["SessionId"].isin(keep)].copy()
    order = {s: i for i, s in enumerate(keep[::-1])}      # reversed session order
    df["o"] = df["SessionId"].map(order)
    return df.sort_values(["o", "Time"]).drop(columns="o").reset_index(drop=True)


def replay(m, df, k, candidates=None, exclude_seen=False):
    """recommend() fed every event one by one: {(session, position): (ids, scores)}."""
    out = {}
    for s, g in df.sort_values("Time", kind="stable").groupby("SessionId", sort=False):
        for pos, item in enumerate(g["ItemId"]):
            ids, sc = m.recommend([s], [item], k=k, candidates=candidates, exclude_seen=exclude_seen)
            out[(s, pos)] = (ids[0], sc[0])
        m.forget([s])
    return out


def check_against_replay(pred, ref, every_event):
    for key, g in pred.groupby(["SessionId", "Position"] if every_event else "SessionId", sort=False):
        if not every_event:
            key = (key, max(p for s, p in ref if s == key))
        ids, sc = ref[key]
        keep = np.array([i is not None for i in ids], dtype=bool)
        assert list(g["Rank"]) == list(range(1, sum(keep) + 1))
        assert list(g["ItemId"]) == list(ids[keep])
        np.testing.assert_allclose(g["Score"].to_numpy(), sc[keep].astype(float), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["shared", "separate", "softmax"])
def test_last_event_equals_recommend_replay(kind):
    m = trained(kind)
    df = small_test()
    pred = m.predict_next(df, k=7, batch_size=5)
    assert list(pred.columns) == ["SessionId", "Rank", "ItemId", "Score"]
    # sessions in input order, k rows each
    assert list(pred["SessionId"].drop_duplicates()) == list(df["SessionId"].drop_duplicates())
    assert (pred.groupby("SessionId").size() == 7).all()
    check_against_replay(pred, replay(m, df, 7), every_event=False)


@pytest.mark.parametrize("exclude_seen", [False, True])
def test_every_event_equals_recommend_replay(exclude_seen):
    m = trained()
    df = small_test(8)
    cand = list(m.item_index.ids[::3])
    extra = [df["ItemId"].iloc[0]] if df["ItemId"].iloc[0] not in cand else []
    cand = cand + extra + cand[:5]                       # duplicates count once
    pred = m.predict_next(df, k=6, candidates=cand, exclude_seen=exclude_seen,
                          every_event=True, batch_size=3)
    assert list(pred.columns) == ["SessionId", "Position", "Rank", "ItemId", "Score"]
    assert len(pred.groupby(["SessionId", "Position"])) == len(df)
    check_against_replay(pred, replay(m, df, 6, candidates=cand, exclude_seen=exclude_seen),
                         every_event=True)
    if exclude_seen:
        for (s, p), g in pred.groupby(["SessionId", "Position"]):
            seen = set(df[df["SessionId"] == s].sort_values("Time", kind="stable")["ItemId"][:p + 1])
            assert not seen & set(g["ItemId"])


def test_batch_size_and_backend_do_not_change_predictions():
    m = trained()
    df = small_test()
    a = m.predict_next(df, k=5, batch_size=1)
    b = m.predict_next(df, k=5, batch_size=512)
    pd.testing.assert_frame_equal(a[["SessionId", "Rank", "ItemId"]], b[["SessionId", "Rank", "ItemId"]])
    np.testing.assert_allclose(a["Score"], b["Score"], rtol=1e-9)
    m.set_backend("reference")
    try:
        c = m.predict_next(df, k=5)
    finally:
        m.set_backend("fused")
    pd.testing.assert_frame_equal(a[["SessionId", "Rank", "ItemId"]], c[["SessionId", "Rank", "ItemId"]])
    np.testing.assert_allclose(a["Score"], c["Score"], rtol=1e-9)


def test_k_beyond_catalogue_is_clamped():
    m = trained()
    df = small_test(2)
    pred = m.predict_next(df, k=10 ** 6)
    assert (pred.groupby("SessionId").size() == m.n_items).all()
    assert set(pred["ItemId"]) == set(m.item_index.ids)
    pred = m.predict_next(df, k=50, candidates=list(m.item_index.ids[:4]))
    assert (pred.groupby("SessionId")["Rank"].max() == 4).all()


def test_unknown_items_are_skipped_with_a_warning():
    m = trained()
    df = small_test(3)
    s0 = df["SessionId"].iloc[0]
    bad = pd.DataFrame({"SessionId": [s0, -1, -1], "ItemId": [-5, -6, -7],
                        "Time": [df["Time"].max() + 1] * 3})
    mixed = pd.concat([df, bad], ignore_index=True)
    with pytest.warns(UserWarning, match=r"skipped 3 event\(s\) of 3 item id\(s\) unknown"):
        pred = m.predict_next(mixed, k=4)
    # the unknown event is dropped from s0; session -1 has no known event: no rows
    pd.testing.assert_frame_equal(pred, m.predict_next(df, k=4))
    with pytest.raises(DataError, match="none of the 3 events has an item known"):
        m.predict_next(bad, k=4)


def test_bad_input():
    with pytest.raises(RuntimeError, match="not trained"):
        GRU4Rec().predict_next(small_test(1))
    m = trained()
    df = small_test(2)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        m.predict_next(df, k=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        m.predict_next(df, batch_size=0)
    with pytest.raises(ValueError, match="candidates.*unknown to the model"):
        m.predict_next(df, candidates=[10 ** 9])
    with pytest.raises(DataError, match="no rows"):
        m.predict_next(df.iloc[:0])
    with pytest.raises(DataError, match="missing column"):
        m.predict_next(df.drop(columns="Time"))
    with pytest.raises(DataError, match="no such file"):
        m.predict_next("/nonexistent/events.tsv")


# -- embeddings ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["shared", "separate", "softmax"])
def test_inner_product_over_exported_vectors_reproduces_recommend(kind):
    m = trained(kind)
    df = small_test(6)
    items = m.item_embeddings()
    sessions = m.session_embeddings(df)
    assert list(sessions.session_ids) == list(df["SessionId"].drop_duplicates())
    assert items.mode == {"shared": "shared", "separate": "separate", "softmax": "none"}[kind]
    assert (items.input is not None) == (kind == "separate")
    # the README example: exact top-k by inner product plus bias
    scores = sessions.hidden @ items.output.T + items.bias
    top = torch.topk(scores, 10).indices.numpy()
    ref = replay(m, df, 10)
    for i, s in enumerate(sessions.session_ids):
        last = max(p for t, p in ref if t == s)
        assert list(items.ids[top[i]]) == list(ref[(s, last)][0])


def test_embedding_frames():
    m = trained("separate")
    items = m.item_embeddings()
    f = items.to_frame()
    assert list(f.columns[:3]) == ["ItemId", "bias", "out_0"] and "in_7" in f.columns
    assert len(f) == m.n_items
    np.testing.assert_array_equal(f[[f"out_{i}" for i in range(12)]].to_numpy(), items.output.numpy())
    assert torch.equal(items.input, m.weights["E"])
    items.output[0, 0] += 1            # a copy: the model is untouched
    assert not torch.equal(items.output, m.weights["Wy"])
    sf = m.session_embeddings(small_test(3)).to_frame()
    assert list(sf.columns) == ["SessionId"] + [f"h_{i}" for i in range(12)] and len(sf) == 3


# -- CLI -------------------------------------------------------------------------------------

def _saved(tmp_path, kind="shared"):
    m = trained(kind)
    path = tmp_path / "model.pt"
    m.save(path)
    events = tmp_path / "events.tsv"
    small_test(5).to_csv(events, sep="\t", index=False)
    return m, path, events


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".parquet"])
def test_cli_predict_writes_by_extension(tmp_path, ext, capsys):
    from gru4rec_fast.cli import main
    m, path, events = _saved(tmp_path)
    out = tmp_path / f"pred{ext}"
    assert main(["predict", str(path), str(events), "-k", "3", "-o", str(out), "-d", "cpu"]) == 0
    got = pd.read_parquet(out) if ext == ".parquet" else pd.read_csv(out, sep="," if ext == ".csv" else "\t")
    want = m.predict_next(small_test(5), k=3)
    pd.testing.assert_frame_equal(got[["SessionId", "Rank", "ItemId"]], want[["SessionId", "Rank", "ItemId"]],
                                  check_dtype=False)
    np.testing.assert_allclose(got["Score"], want["Score"], rtol=1e-6)
    assert sorted(os.listdir(tmp_path)) == sorted(["model.pt", "events.tsv", out.name])


def test_cli_predict_and_export_errors(tmp_path, capsys):
    from gru4rec_fast.cli import main
    _, path, events = _saved(tmp_path)
    assert main(["predict", str(tmp_path / "nope.pt"), str(events), "-o", str(tmp_path / "p.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["predict", str(path), str(events), "-o", str(tmp_path / "p.xlsx")]) == 2
    assert "extension" in capsys.readouterr().err
    assert main(["predict", str(path), str(events), "-k", "0", "-o", str(tmp_path / "p.csv")]) == 2
    assert "-k must be" in capsys.readouterr().err
    assert main(["export", str(path)]) == 2
    assert "nothing to export" in capsys.readouterr().err


def test_cli_export(tmp_path):
    from gru4rec_fast.cli import main
    m, path, events = _saved(tmp_path, "separate")
    items_out, sess_out = tmp_path / "items.parquet", tmp_path / "sessions.tsv"
    assert main(["export", str(path), "--items", str(items_out), "--sessions", str(events),
                 str(sess_out), "-d", "cpu"]) == 0
    items = pd.read_parquet(items_out)
    assert len(items) == m.n_items and list(items["ItemId"]) == list(m.item_index.ids)
    np.testing.assert_allclose(items["bias"], m.weights["By"].numpy())
    sess = pd.read_csv(sess_out, sep="\t")
    want = m.session_embeddings(small_test(5))
    assert list(sess["SessionId"]) == list(want.session_ids)
    np.testing.assert_allclose(sess[[f"h_{i}" for i in range(12)]].to_numpy(), want.hidden.numpy(),
                               rtol=1e-12)


def test_cli_predict_every_event_with_candidates(tmp_path, capsys):
    from gru4rec_fast.cli import main
    m, path, events = _saved(tmp_path)
    cand = list(m.item_index.ids[:40])
    cfile = tmp_path / "cand.txt"
    cfile.write_text("\n".join(str(c) for c in cand) + "\n")
    out = tmp_path / "pred.tsv"
    assert main(["predict", str(path), str(events), "-k", "4", "--every-event", "--exclude-seen",
                 "--candidates", str(cfile), "-o", str(out), "-d", "cpu"]) == 0
    got = pd.read_csv(out, sep="\t")
    want = m.predict_next(small_test(5), k=4, every_event=True, exclude_seen=True, candidates=cand)
    assert list(got.columns) == ["SessionId", "Position", "Rank", "ItemId", "Score"]
    pd.testing.assert_frame_equal(got.drop(columns="Score"), want.drop(columns="Score"),
                                  check_dtype=False)
    cfile.write_text("12\nnot-an-id\n")
    assert main(["predict", str(path), str(events), "--candidates", str(cfile),
                 "-o", str(out)]) == 2
    assert "'not-an-id'" in capsys.readouterr().err
