"""Preprocessing of the public data sets as in the RecSys 2023 study (docs/algorithm.md).

``preprocess(dataset, raw_path, out_dir)`` reads the raw files, keeps view/click events,
sessionises user histories with a 1-hour gap where needed, drops immediate repeats
(i,i,j -> i,j; not for rsc15), iteratively drops sessions shorter than 2 and items with
fewer than 5 events until nothing changes, splits by time (splitting.time_split) into
train_full / test and train_full again into train_tr / train_valid, and writes
``<dataset>_{train_full,test,train_tr,train_valid}.tsv`` (columns SessionId, ItemId,
Time in seconds) atomically. It returns (and prints) a statistics table.

Raw inputs (``raw_path`` is the file, or the folder holding it):
  yoochoose     yoochoose-clicks.dat (+ yoochoose-test.dat when present): session,
                timestamp (ISO 8601), item, category; no header. Test: last day.
  rsc15         yoochoose-clicks.dat only, no deduplication, test: last day.
  diginetica    train-item-views.csv: sessionId;userId;itemId;timeframe;eventdate.
                Time = the session's first eventdate + timeframe (ms). Test: 7 days.
  retailrocket  events.csv: timestamp (ms), visitorid, event, itemid, transactionid;
                'view' events, visitor histories cut at 1-hour gaps. Test: 7 days.
  rees46        monthly CSVs (event_time, event_type, product_id, ..., user_id,
                user_session); every *.csv(.gz) in the folder (the study used
                2019-Oct and 2019-Nov); 'view' events, user histories cut at 1-hour
                gaps. Test: 1 day.
  coveo         browsing_train.csv (session_id_hash, event_type, product_action,
                product_sku_hash, server_timestamp_epoch_ms, hashed_url); 'detail'
                events, sessions further cut at 1-hour gaps. Test: 1 day.

Large raw files are read in chunks (only the needed columns, filtered per chunk), so
memory holds the kept events only.
"""
import glob
import os

import numpy as np
import pandas as pd

from gru4rec_fast._atomic import atomic_write

from ._progress import bar
from .errors import DataError
from .splitting import DAY

DATASETS = ("yoochoose", "rsc15", "diginetica", "retailrocket", "rees46", "coveo")
TEST_DAYS = {"yoochoose": 1, "rsc15": 1, "diginetica": 7, "retailrocket": 7, "rees46": 1,
             "coveo": 1}
SESSION_GAP = 3600       # seconds; a new session starts after a longer gap
MIN_SESSION_LENGTH = 2
MIN_ITEM_SUPPORT = 5
CHUNKSIZE = 2_000_000


# -- raw readers: each returns a DataFrame of SessionId|UserId, ItemId, Time (seconds) ----

def _find(raw_path, names, what):
    if os.path.isfile(raw_path):
        return [raw_path]
    if os.path.isdir(raw_path):
        for n in names:                      # exact names first, then patterns
            found = sorted(f for f in glob.glob(os.path.join(raw_path, n)) if os.path.isfile(f))
            if found:
                return found[:1]
    raise DataError(f"{raw_path}: {what} not found (expected {' or '.join(names)})")


def _chunks(path, progress, **kw):
    reader = pd.read_csv(path, chunksize=kw.pop("chunksize", CHUNKSIZE), **kw)
    return bar(reader, progress=progress, desc=os.path.basename(path), unit="chunk")


def _need_columns(path, sep, wanted, header_names=None):
    cols = list(pd.read_csv(path, sep=sep, nrows=0).columns) if header_names is None \
        else header_names
    missing = [c for c in wanted if c not in cols]
    if missing:
        raise DataError(f"{path}: missing column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(repr(c) for c in missing)} (found: "
                        f"{', '.join(repr(c) for c in cols)})")


def read_yoochoose(raw_path, progress=None, with_test=True):
    files = _find(raw_path, ["yoochoose-clicks.dat"], "yoochoose-clicks.dat")
    if with_test and os.path.isdir(raw_path) and \
            os.path.isfile(os.path.join(raw_path, "yoochoose-test.dat")):
        files.append(os.path.join(raw_path, "yoochoose-test.dat"))
    parts = []
    for path in files:
        for c in _chunks(path, progress, header=None, usecols=[0, 1, 2],
                         names=["SessionId", "TimeStr", "ItemId"],
                         dtype={"SessionId": np.int64, "TimeStr": str, "ItemId": np.int64}):
            t = pd.to_datetime(c["TimeStr"], format="ISO8601", utc=True)
            parts.append(pd.DataFrame({
                "SessionId": c["SessionId"].to_numpy(), "ItemId": c["ItemId"].to_numpy(),
                "Time": _epoch_seconds(t)}))
    return pd.concat(parts, ignore_index=True)


def _epoch_seconds(t):
    """float64 seconds since the epoch of a datetime Series (any resolution)."""
    ns = t.dt.tz_localize(None) if getattr(t.dt, "tz", None) is not None else t
    return ns.astype("datetime64[ns]").to_numpy().astype(np.int64) / 1e9


def _norm(name):
    return name.replace("_", "").lower()


def read_diginetica(raw_path, progress=None):
    path = _find(raw_path, ["train-item-views.csv", "*train-item-views*.csv"],
                 "train-item-views.csv")[0]
    cols = list(pd.read_csv(path, sep=";", nrows=0).columns)
    by_norm = {_norm(c): c for c in cols}
    wanted = ["sessionid", "itemid", "timeframe", "eventdate"]
    missing = [w for w in wanted if w not in by_norm]
    if missing:
        raise DataError(f"{path}: missing columns {', '.join(repr(m) for m in missing)} "
                        f"(found: {', '.join(repr(c) for c in cols)}; expected "
                        "sessionId;userId;itemId;timeframe;eventdate)")
    s, i, tf, ed = (by_norm[w] for w in wanted)
    parts = []
    for c in _chunks(path, progress, sep=";", usecols=[s, i, tf, ed],
                     dtype={s: np.int64, i: np.int64, tf: np.int64, ed: str}):
        parts.append(c)
    df = pd.concat(parts, ignore_index=True)
    day = pd.to_datetime(df[ed], format="%Y-%m-%d").to_numpy().astype("datetime64[s]") \
        .astype(np.int64)
    sess = df[s].to_numpy()
    codes, _ = pd.factorize(sess)
    first_day = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_day, codes, day)
    time = first_day[codes] + df[tf].to_numpy() / 1000.0
    return pd.DataFrame({"SessionId": sess, "ItemId": df[i].to_numpy(), "Time": time})


def read_retailrocket(raw_path, progress=None):
    path = _find(raw_path, ["events.csv"], "events.csv")[0]
    _need_columns(path, ",", ["timestamp", "visitorid", "event", "itemid"])
    parts = []
    for c in _chunks(path, progress, usecols=["timestamp", "visitorid", "event", "itemid"],
                     dtype={"timestamp": np.int64, "visitorid": np.int64, "event": str,
                            "itemid": np.int64}):
        c = c[c["event"] == "view"]
        parts.append(pd.DataFrame({"UserId": c["visitorid"].to_numpy(),
                                   "ItemId": c["itemid"].to_numpy(),
                                   "Time": c["timestamp"].to_numpy() / 1000.0}))
    return pd.concat(parts, ignore_index=True)


def read_rees46(raw_path, progress=None):
    if os.path.isdir(raw_path):
        files = sorted(glob.glob(os.path.join(raw_path, "*.csv")) +
                       glob.glob(os.path.join(raw_path, "*.csv.gz")))
        if not files:
            raise DataError(f"{raw_path}: no monthly .csv files found")
    elif os.path.isfile(raw_path):
        files = [raw_path]
    else:
        raise DataError(f"{raw_path}: no such file or folder")
    parts = []
    for path in files:
        _need_columns(path, ",", ["event_time", "event_type", "product_id", "user_id"])
        for c in _chunks(path, progress,
                         usecols=["event_time", "event_type", "product_id", "user_id"],
                         dtype={"event_time": str, "event_type": str, "product_id": np.int64,
                                "user_id": np.int64}):
            c = c[c["event_type"] == "view"]
            t = pd.to_datetime(c["event_time"].str.slice(0, 19), format="%Y-%m-%d %H:%M:%S")
            parts.append(pd.DataFrame({
                "UserId": c["user_id"].to_numpy(), "ItemId": c["product_id"].to_numpy(),
                "Time": t.to_numpy().astype("datetime64[s]").astype(np.int64)}))
    return pd.concat(parts, ignore_index=True)


def read_coveo(raw_path, progress=None):
    path = _find(raw_path, ["browsing_train.csv"], "browsing_train.csv")[0]
    cols = ["session_id_hash", "product_action", "product_sku_hash",
            "server_timestamp_epoch_ms"]
    _need_columns(path, ",", cols)
    parts = []
    for c in _chunks(path, progress, usecols=cols,
                     dtype={"session_id_hash": str, "product_action": str,
                            "product_sku_hash": str, "server_timestamp_epoch_ms": np.int64}):
        c = c[(c["product_action"] == "detail") & c["product_sku_hash"].notna()]
        parts.append(pd.DataFrame({"UserId": c["session_id_hash"].to_numpy(),
                                   "ItemId": c["product_sku_hash"].to_numpy(),
                                   "Time": c["server_timestamp_epoch_ms"].to_numpy() / 1000.0}))
    return pd.concat(parts, ignore_index=True)


READERS = {"yoochoose": read_yoochoose,
           "rsc15": lambda p, progress=None: read_yoochoose(p, progress, with_test=False),
           "diginetica": read_diginetica, "retailrocket": read_retailrocket,
           "rees46": read_rees46, "coveo": read_coveo}


# -- the common pipeline (in integer code space) -----------------------------------------

def sessionise(user_codes, time, gap=SESSION_GAP):
    """Session number (0-based, int64) of each event of user histories: events sorted by
    (user, time); a new session starts at a new user or after a gap longer than ``gap``.
    Returns (order, session) where ``order`` sorts the events."""
    order = np.lexsort((time, user_codes))
    u, t = user_codes[order], time[order]
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | ((t[1:] - t[:-1]) > gap)
    return order, np.cumsum(new) - 1


def _sort_by_session_time(s, t):
    ds = np.diff(s)
    if (ds >= 0).all() and not ((ds == 0) & (np.diff(t) < 0)).any():
        return None
    return np.lexsort((t, s))


def dedupe_repeats(s, i):
    """Mask keeping events that do not repeat the previous event's item in the same
    session (events sorted by session, time)."""
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = (s[1:] != s[:-1]) | (i[1:] != i[:-1])
    return keep


def iterative_filter(s, i, min_session_length=MIN_SESSION_LENGTH,
                     min_item_support=MIN_ITEM_SUPPORT):
    """Mask of the events left after repeatedly dropping short sessions and rare items
    until nothing changes (s, i: non-negative int codes)."""
    keep = np.ones(len(s), dtype=bool)
    while True:
        ks, ki = s[keep], i[keep]
        slen = np.bincount(ks)
        supp = np.bincount(ki)
        ok = (slen[ks] >= min_session_length) & (supp[ki] >= min_item_support)
        if ok.all():
            return keep
        idx = np.flatnonzero(keep)
        keep[idx[~ok]] = False


def _split_codes(s, i, t, test_days):
    """Masks (train, test) of the study's time split in code space."""
    first = np.full(s.max() + 1, np.inf)
    np.minimum.at(first, s, t)
    t_split = t.max() - test_days * DAY
    train = t < t_split
    slen = np.bincount(s[train], minlength=len(first))
    train &= slen[s] >= 2
    test = first[s] >= t_split
    known = np.zeros(i.max() + 1, dtype=bool)
    known[i[train]] = True
    test &= known[i]
    tlen = np.bincount(s[test], minlength=len(first))
    test &= tlen[s] >= 2
    return train, test


def _stats(name, s, i, t):
    if len(s) == 0:
        return dict(split=name, events=0, sessions=0, items=0, days=0.0)
    return dict(split=name, events=int(len(s)), sessions=int(len(np.unique(s))),
                items=int(len(np.unique(i))), days=round(float(t.max() - t.min()) / DAY, 2))


def write_tsv(df, path):
    """Write a TAB-separated file atomically (gru4rec_fast._atomic), creating the folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def write(tmp):
        import pyarrow as pa
        import pyarrow.csv as pacsv
        table = pa.Table.from_pandas(df, preserve_index=False)
        with open(tmp, "wb") as f:
            f.write(("\t".join(map(str, df.columns)) + "\n").encode())
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, delimiter="\t",
                                                         quoting_style="needed"))
    atomic_write(path, write)


def format_stats(stats):
    """The statistics table as aligned text."""
    return stats.to_string(index=False)


def preprocess_events(raw, dataset, test_days=None, sessionise_gap=None, dedupe=True):
    """The common pipeline on a raw DataFrame (SessionId or UserId, ItemId, Time seconds).
    Returns (splits: dict name -> DataFrame, stats DataFrame)."""
    if test_days is None:
        test_days = TEST_DAYS[dataset]
    t = raw["Time"].to_numpy().astype(np.float64)
    icodes, iuniq = pd.factorize(raw["ItemId"].to_numpy())
    if "UserId" in raw.columns:
        ucodes, _ = pd.factorize(raw["UserId"].to_numpy())
        order, scodes = sessionise(ucodes, t, SESSION_GAP if sessionise_gap is None
                                   else sessionise_gap)
        t, icodes = t[order], icodes[order]
        sess_values = scodes + 1           # new session ids 1..n
        del ucodes, order
    else:
        scodes, suniq = pd.factorize(raw["SessionId"].to_numpy(), sort=True)
        order = _sort_by_session_time(scodes, t)
        if order is not None:
            scodes, t, icodes = scodes[order], t[order], icodes[order]
        sess_values = np.asarray(suniq)[scodes]
    if dedupe:
        keep = dedupe_repeats(scodes, icodes)
        scodes, icodes, t, sess_values = scodes[keep], icodes[keep], t[keep], sess_values[keep]
    keep = iterative_filter(scodes, icodes)
    scodes, icodes, t, sess_values = scodes[keep], icodes[keep], t[keep], sess_values[keep]
    if len(scodes) == 0:
        raise DataError(f"{dataset}: no events left after filtering sessions shorter than "
                        f"{MIN_SESSION_LENGTH} and items with fewer than {MIN_ITEM_SUPPORT} "
                        "events")
    train, test = _split_codes(scodes, icodes, t, test_days)
    tr_idx = np.flatnonzero(train)
    tr2, valid2 = _split_codes(scodes[tr_idx], icodes[tr_idx], t[tr_idx], test_days)
    masks = {"train_full": tr_idx, "test": np.flatnonzero(test),
             "train_tr": tr_idx[tr2], "train_valid": tr_idx[valid2]}
    iuniq = np.asarray(iuniq)
    integral_time = bool(np.all(t == np.floor(t)))
    splits, rows = {}, []
    for name, idx in masks.items():
        tt = t[idx]
        splits[name] = pd.DataFrame({"SessionId": sess_values[idx], "ItemId": iuniq[icodes[idx]],
                                     "Time": tt.astype(np.int64) if integral_time else tt})
        rows.append(_stats(name, scodes[idx], icodes[idx], tt))
    return splits, pd.DataFrame(rows, columns=["split", "events", "sessions", "items", "days"])


def preprocess(dataset, raw_path, out_dir, test_days=None, progress=None, verbose=True):
    """Preprocess a public data set (see the module doc); write the four TSVs into
    ``out_dir`` and return the statistics table (a DataFrame)."""
    dataset = dataset.lower()
    if dataset not in READERS:
        raise DataError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    raw = READERS[dataset](os.fspath(raw_path), progress=progress)
    if len(raw) == 0:
        raise DataError(f"{raw_path}: no view/click events found")
    splits, stats = preprocess_events(raw, dataset, test_days=test_days,
                                      dedupe=dataset != "rsc15")
    del raw
    for name, df in bar(splits.items(), progress=progress, desc="write", unit="file"):
        write_tsv(df, os.path.join(out_dir, f"{dataset}_{name}.tsv"))
    if verbose:
        print(f"{dataset}: {raw_path} -> {out_dir}")
        print(format_stats(stats))
    return stats
