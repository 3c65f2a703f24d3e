"""Reading event tables (TSV/CSV/Parquet/pickle or a DataFrame) and validating them.

:func:`read_events` returns a *new* DataFrame holding only the three event columns
(session id, item id, time), validated by :func:`validate_events`. The caller's
DataFrame is never modified: columns are copied out, never written back.

Validated column contents:
  * session and item ids: no missing (NaN/None) or empty-string values; ints or strings
    (float ids that are all integral become int64; other floats are refused);
  * time: numeric (ints or floats), no missing values. Numeric strings are converted;
    datetime64 columns become float64 seconds since the epoch.
"""
import os

import numpy as np
import pandas as pd

from .errors import DataError, source_name

DEFAULT_KEYS = ("SessionId", "ItemId", "Time")

_TEXT_SEPARATORS = {".tsv": "\t", ".txt": "\t", ".csv": ","}
_PARQUET = (".parquet", ".pq")
_PICKLE = (".pkl", ".pickle")
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")


def _format_of(path):
    """The table format of a path from its extension (compression suffixes skipped)."""
    name = os.path.basename(str(path)).lower()
    for suffix in _COMPRESSION:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    ext = os.path.splitext(name)[1]
    if ext in _TEXT_SEPARATORS:
        return "text", _TEXT_SEPARATORS[ext]
    if ext in _PARQUET:
        return "parquet", None
    if ext in _PICKLE:
        return "pickle", None
    raise DataError(f"{path}: unknown file type {ext!r}; expected .tsv/.txt (TAB-separated), "
                    ".csv, .parquet or .pkl (a pickled pandas DataFrame)")


def _missing_columns_error(src, wanted, found):
    missing = [c for c in wanted if c not in found]
    names = ", ".join(repr(c) for c in missing)
    return DataError(f"{src}: missing column{'s' if len(missing) > 1 else ''} {names} "
                     f"(found: {', '.join(repr(str(c)) for c in found)})")


def _read_text(path, sep, keys):
    src = source_name(path)
    if not os.path.exists(path):
        raise DataError(f"{src}: no such file")
    try:
        header = pd.read_csv(path, sep=sep, nrows=0)
    except pd.errors.EmptyDataError:
        raise DataError(f"{src}: the file is empty") from None
    found = list(header.columns)
    if any(k not in found for k in keys):
        raise _missing_columns_error(src, keys, found)
    try:
        # The pyarrow reader is multi-threaded and builds compact columns directly.
        return pd.read_csv(path, sep=sep, usecols=list(keys), engine="pyarrow")
    except (ValueError, TypeError, ImportError):
        return pd.read_csv(path, sep=sep, usecols=list(keys))


def _read_parquet(path, keys):
    import pyarrow.parquet as pq
    src = source_name(path)
    if not os.path.exists(path):
        raise DataError(f"{src}: no such file")
    found = pq.read_schema(path).names
    if any(k not in found for k in keys):
        raise _missing_columns_error(src, keys, found)
    return pq.read_table(path, columns=list(keys)).to_pandas()


def _read_pickle(path):
    src = source_name(path)
    if not os.path.exists(path):
        raise DataError(f"{src}: no such file")
    obj = pd.read_pickle(path)
    if not isinstance(obj, pd.DataFrame):
        raise DataError(f"{src}: the pickle holds a {type(obj).__name__}, not a pandas DataFrame")
    return obj


def _first_at(mask):
    return int(np.flatnonzero(mask)[0])


def _clean_id(values, src, col):
    """Validated id column as a numpy array (int64, or object/str as read)."""
    s = values
    missing = s.isna().to_numpy()
    if missing.any():
        raise DataError(f"{src}: column {col!r} has {int(missing.sum())} missing values "
                        f"(first at row {_first_at(missing)})")
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise DataError(f"{src}: column {col!r} holds booleans, not ids")
    if pd.api.types.is_float_dtype(dtype):
        arr = s.to_numpy(dtype=np.float64)
        frac = arr != np.floor(arr)
        if frac.any():
            raise DataError(f"{src}: column {col!r} holds non-integral float ids "
                            f"(first {arr[frac][0]!r} at row {_first_at(frac)})")
        return arr.astype(np.int64)
    if pd.api.types.is_integer_dtype(dtype):
        return s.to_numpy()
    # strings / objects: empty (or blank) strings count as missing
    arr = s.to_numpy(dtype=object) if not pd.api.types.is_string_dtype(dtype) else s.to_numpy()
    as_str = s.astype(str) if not pd.api.types.is_string_dtype(dtype) else s
    empty = (as_str.str.strip() == "").to_numpy(dtype=bool)
    if empty.any():
        raise DataError(f"{src}: column {col!r} has {int(empty.sum())} empty values "
                        f"(first at row {_first_at(empty)})")
    return arr


def _clean_time(values, src, col):
    s = values
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        missing = s.isna().to_numpy()
        if missing.any():
            raise DataError(f"{src}: column {col!r} has {int(missing.sum())} missing values "
                            f"(first at row {_first_at(missing)})")
        ns = s.astype("datetime64[ns]").to_numpy().astype(np.int64)
        return ns / 1e9
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"{src}: column {col!r} is not numeric (booleans)")
    missing = s.isna().to_numpy()
    if missing.any():
        raise DataError(f"{src}: column {col!r} has {int(missing.sum())} missing values "
                        f"(first at row {_first_at(missing)})")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy()
    conv = pd.to_numeric(s, errors="coerce")
    bad = conv.isna().to_numpy()
    if bad.any():
        i = _first_at(bad)
        raise DataError(f"{src}: column {col!r} is not numeric ({int(bad.sum())} values are "
                        f"not numbers, first {s.iloc[i]!r} at row {i})")
    return conv.to_numpy()


def validate_events(df, session_key="SessionId", item_key="ItemId", time_key="Time",
                    source=None):
    """Check an event table and return a new, clean 3-column DataFrame.

    Raises :class:`DataError` for missing columns, an empty table, missing/empty ids,
    missing or non-numeric times. ``source`` (a path) is named in the messages.
    ``df`` is not modified.
    """
    src = source_name(source)
    keys = (session_key, item_key, time_key)
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{src}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(set(keys)) != 3:
        raise DataError(f"{src}: the session, item and time columns must differ, got {keys}")
    if any(k not in df.columns for k in keys):
        raise _missing_columns_error(src, keys, list(df.columns))
    if len(df) == 0:
        raise DataError(f"{src}: the table has no rows")
    sess = _clean_id(df[session_key], src, session_key)
    item = _clean_id(df[item_key], src, item_key)
    time = _clean_time(df[time_key], src, time_key)
    return pd.DataFrame({session_key: sess, item_key: item, time_key: time}, copy=False)


def read_events(data, session_key="SessionId", item_key="ItemId", time_key="Time"):
    """Load events from a path (.tsv/.txt TAB-separated, .csv, .parquet, .pkl) or take a
    DataFrame, validate them and return a new DataFrame with just the three columns.

    Item and session ids keep their type (ints stay ints, strings stay strings).
    """
    keys = (session_key, item_key, time_key)
    if isinstance(data, pd.DataFrame):
        return validate_events(data, *keys, source=None)
    if not isinstance(data, (str, os.PathLike)):
        raise DataError(f"expected a file path or a pandas DataFrame, got {type(data).__name__}")
    path = os.fspath(data)
    kind, sep = _format_of(path)
    if kind == "text":
        df = _read_text(path, sep, keys)
    elif kind == "parquet":
        df = _read_parquet(path, keys)
    else:
        df = _read_pickle(path)
    return validate_events(df, *keys, source=path)
