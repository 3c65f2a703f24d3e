"""Every preprocessing recipe, on raw files written here in each data set's format and on
the real raw Diginetica sample. Invariants, not hard-coded counts."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gru4rec_fast.cli import main as cli_main
from gru4rec_fast.data import DataError, synthetic
from gru4rec_fast.data.preprocess import preprocess, preprocess_events

SPLITS = ("train_full", "test", "train_tr", "train_valid")
T0 = 1_420_070_400


def base_events(seed=0, n=6000):
    """Synthetic events with immediate repeats added (every 7th event doubled)."""
    df = synthetic.generate(n, 80, seed=seed, n_days=15, min_session_length=1,
                            mean_session_length=4.0)
    dup = df.iloc[::7].copy()
    dup["Time"] += 1
    df = pd.concat([df, dup]).sort_values(["SessionId", "Time"], kind="mergesort")
    return df.reset_index(drop=True)


def noise(df, rng, k=40):
    """Rows of a non-view event type on an item that never appears in views."""
    rows = df.sample(k, random_state=int(rng.integers(1 << 30))).copy()
    rows["ItemId"] = 999_999
    return rows


def read_out(out_dir, dataset):
    return {s: pd.read_csv(os.path.join(out_dir, f"{dataset}_{s}.tsv"), sep="\t")
            for s in SPLITS}


def check_invariants(out, stats, test_days, gap=None, no_item=None):
    for name in SPLITS:
        df = out[name]
        assert list(df.columns) == ["SessionId", "ItemId", "Time"]
        assert len(df) > 0, name
        assert df.groupby("SessionId").size().min() >= 2, name
        row = stats.set_index("split").loc[name]
        assert row["events"] == len(df) and row["sessions"] == df["SessionId"].nunique()
        assert row["items"] == df["ItemId"].nunique()
        if no_item is not None:
            assert no_item not in set(df["ItemId"].astype(str))
        if gap is not None:
            s = df.sort_values(["SessionId", "Time"], kind="mergesort")
            same = s["SessionId"].to_numpy()[1:] == s["SessionId"].to_numpy()[:-1]
            assert (np.diff(s["Time"].to_numpy())[same] <= gap).all(), name
    for train, test in (("train_full", "test"), ("train_tr", "train_valid")):
        tr, te = out[train], out[test]
        assert set(te["ItemId"]) <= set(tr["ItemId"])
        t_split = max(tr["Time"].max(), te["Time"].max()) - test_days * 86400
        assert tr["Time"].max() < t_split + 1e-6
        assert te.groupby("SessionId")["Time"].min().min() >= t_split - 1e-6
        assert not set(tr["SessionId"]) & set(te["SessionId"]) or train == "train_full"
    assert set(out["train_tr"]["SessionId"]) | set(out["train_valid"]["SessionId"]) <= \
        set(out["train_full"]["SessionId"])
    # after the iterative filter every item had >= 5 events; the split only removes


def iso(t):
    return pd.to_datetime(t, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%fZ").str.slice(0, 23) + "Z"


def write_yoochoose(tmp_path, rng):
    df = base_events(1)
    t_ms = df["Time"].to_numpy() * 1000 + rng.integers(0, 1000, len(df))
    raw = pd.DataFrame({"s": df["SessionId"], "t": iso(t_ms).str.slice(0, 23) + "Z",
                        "i": df["ItemId"], "c": 0})
    cut = int(len(raw) * 0.9)
    folder = tmp_path / "raw"
    folder.mkdir()
    raw.iloc[:cut].to_csv(folder / "yoochoose-clicks.dat", header=False, index=False)
    raw.iloc[cut:].to_csv(folder / "yoochoose-test.dat", header=False, index=False)
    return folder, df


@pytest.mark.parametrize("dataset", ["yoochoose", "rsc15"])
def test_yoochoose_and_rsc15(tmp_path, dataset):
    rng = np.random.default_rng(0)
    folder, df = write_yoochoose(tmp_path, rng)
    stats = preprocess(dataset, folder, tmp_path / "out", progress=False, verbose=False)
    out = read_out(tmp_path / "out", dataset)
    check_invariants(out, stats, 1)
    all_sessions = set().union(*(set(o["SessionId"]) for o in out.values()))
    if dataset == "rsc15":        # clicks only: sessions of the test file are absent
        assert not all_sessions & set(df["SessionId"].iloc[int(len(df) * 0.9) + 1:])
        assert out["train_full"]["SessionId"].nunique() > 0


def test_dedupe_and_rsc15_keeps_repeats():
    raw = pd.DataFrame({"SessionId": np.repeat(np.arange(40), 4),
                        "ItemId": np.tile([1, 1, 2, 3], 40),
                        "Time": np.arange(160) * 60.0 + T0})
    raw.loc[raw.index[-8:], "Time"] += 10 * 86400          # two sessions in the test period
    splits, _ = preprocess_events(raw, "yoochoose")
    assert splits["train_full"].groupby("SessionId").size().eq(3).all()
    splits, _ = preprocess_events(raw, "rsc15", dedupe=False)
    assert splits["train_full"].groupby("SessionId").size().eq(4).all()


def test_iterative_filter_until_stable():
    # item 9 has 5 events, but one sits in a session that is too short once item 8
    # (4 events) goes; then item 9 has 4 and must go too, then more sessions shrink.
    rows = [(1, 8, 0), (1, 9, 1)] + [(2, 8, 2), (2, 7, 3)] * 1 + \
        [(s, 9, 10 * s) for s in range(3, 7)] + [(s, 7, 10 * s + 1) for s in range(3, 7)] + \
        [(7, 8, 80), (7, 7, 81), (8, 8, 90), (8, 7, 91)] + \
        [(s, it, 100 * s + k) for s in range(10, 15) for k, it in enumerate((5, 6))]
    raw = pd.DataFrame(rows, columns=["SessionId", "ItemId", "Time"]).astype({"Time": float})
    from gru4rec_fast.data.preprocess import iterative_filter
    s, _ = pd.factorize(raw["SessionId"])
    i, _ = pd.factorize(raw["ItemId"])
    keep = iterative_filter(s, i)
    kept = raw[keep]
    assert (kept.groupby("SessionId").size() >= 2).all()
    assert (kept.groupby("ItemId").size() >= 5).all()
    # the cascade removes everything but the stable block of sessions 10-14
    assert sorted(set(kept["SessionId"])) == [10, 11, 12, 13, 14]


def test_retailrocket(tmp_path):
    rng = np.random.default_rng(1)
    df = base_events(2)
    df["User"] = df["SessionId"] % 150
    ev = df.assign(event="view")
    other = noise(df, rng).assign(event="addtocart")
    raw = pd.concat([ev, other]).sample(frac=1, random_state=0)
    pd.DataFrame({"timestamp": raw["Time"] * 1000 + 7, "visitorid": raw["User"],
                  "event": raw["event"], "itemid": raw["ItemId"],
                  "transactionid": ""}).to_csv(tmp_path / "events.csv", index=False)
    stats = preprocess("retailrocket", tmp_path / "events.csv", tmp_path / "out",
                       progress=False, verbose=False)
    out = read_out(tmp_path / "out", "retailrocket")
    check_invariants(out, stats, 7, gap=3600, no_item="999999")
    # sessions are new ids from sessionisation, and some users had several sessions
    assert out["train_full"]["SessionId"].nunique() > 150


def test_rees46_monthly_files(tmp_path):
    rng = np.random.default_rng(2)
    df = base_events(3)
    df["User"] = df["SessionId"] % 200 + 500_000_000
    raw = pd.concat([df.assign(event_type="view"), noise(df, rng).assign(event_type="cart")])
    raw = raw.sort_values("Time", kind="mergesort")
    frame = pd.DataFrame({
        "event_time": pd.to_datetime(raw["Time"], unit="s").dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "event_type": raw["event_type"], "product_id": raw["ItemId"], "category_id": 1,
        "category_code": "", "brand": "b", "price": 1.0, "user_id": raw["User"],
        "user_session": "x"})
    folder = tmp_path / "rees"
    folder.mkdir()
    half = len(frame) // 2
    frame.iloc[:half].to_csv(folder / "2019-Oct.csv", index=False)
    frame.iloc[half:].to_csv(folder / "2019-Nov.csv", index=False)
    stats = preprocess("rees46", folder, tmp_path / "out", progress=False, verbose=False)
    out = read_out(tmp_path / "out", "rees46")
    check_invariants(out, stats, 1, gap=3600, no_item="999999")
    assert out["train_full"]["Time"].dtype.kind == "i"      # whole seconds


def test_coveo(tmp_path):
    rng = np.random.default_rng(3)
    df = base_events(4)
    # one hashed "session" spans several real sessions: they must be cut at 1-hour gaps
    df["Hash"] = "h" + (df["SessionId"] % 300).astype(str)
    df["Sku"] = "sku" + df["ItemId"].astype(str)
    detail = df.assign(event_type="pageview", action="detail")
    other = noise(df, rng).assign(event_type="event_product", action="add",
                                  Sku="sku999999")
    raw = pd.concat([detail, other])
    pd.DataFrame({"session_id_hash": raw["Hash"], "event_type": raw["event_type"],
                  "product_action": raw["action"], "product_sku_hash": raw["Sku"],
                  "server_timestamp_epoch_ms": raw["Time"] * 1000 + 3,
                  "hashed_url": "u"}).to_csv(tmp_path / "browsing_train.csv", index=False)
    stats = preprocess("coveo", tmp_path, tmp_path / "out", progress=False, verbose=False)
    out = read_out(tmp_path / "out", "coveo")
    check_invariants(out, stats, 1, gap=3600, no_item="sku999999")
    assert out["train_full"]["ItemId"].astype(str).str.startswith("sku").all()
    assert out["train_full"]["SessionId"].nunique() > 300


def test_diginetica_real_sample(tmp_path, diginetica_sample, capsys):
    stats = preprocess("diginetica", diginetica_sample, tmp_path / "out", progress=False)
    printed = capsys.readouterr().out
    assert "train_full" in printed and "sessions" in printed
    out = read_out(tmp_path / "out", "diginetica")
    check_invariants(out, stats, 7)
    # Time = the session's first eventdate + timeframe: check against the raw file
    raw = pd.read_csv(diginetica_sample, sep=";")
    raw.columns = [c.replace("_", "").lower() for c in raw.columns]
    sid = out["test"]["SessionId"].iloc[0]
    r = raw[raw["sessionid"] == sid]
    day = pd.to_datetime(r["eventdate"]).min().timestamp()
    got = out["test"][out["test"]["SessionId"] == sid]["Time"].to_numpy()
    want = np.sort(day + r["timeframe"].to_numpy() / 1000.0)
    assert np.isin(np.round(got, 3), np.round(want, 3)).all()
    assert (np.diff(got) >= 0).all()
    # the stats figures agree with an independent count of the written files
    assert stats.set_index("split").loc["test", "events"] == len(out["test"])


def test_cli_and_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli_main(["preprocess", "nosuch", str(tmp_path), str(tmp_path / "o")])
    assert cli_main(["preprocess", "retailrocket", str(tmp_path), str(tmp_path / "o")]) == 2
    assert "events.csv not found" in capsys.readouterr().err
    pd.DataFrame({"timestamp": [1], "visitor": [1]}).to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(DataError, match=r"events\.csv: missing columns 'visitorid', 'event', "
                                        r"'itemid'"):
        preprocess("retailrocket", tmp_path, tmp_path / "o", progress=False, verbose=False)
    assert cli_main(["synthetic", "tiny", str(tmp_path / "syn")]) == 0
    assert os.path.isfile(tmp_path / "syn" / "synthetic_tiny_train.tsv")


@pytest.mark.slow
def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "gru4rec_fast", "preprocess", "--help"],
                       capture_output=True, text=True, cwd=os.path.dirname(
                           os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert r.returncode == 0 and "RAW_PATH".lower() in r.stdout.lower()
