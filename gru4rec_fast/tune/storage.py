"""The Optuna storage of a ``paropt`` study.

One machine: a SQLite file (the default, ``<out>/study.db``), shared by the worker
processes on this machine. Many machines: the URL of a PostgreSQL or MySQL database that
every machine reaches (``postgresql://user:pass@host/db``; MySQL needs a driver such as
``pip install pymysql`` and ``mysql+pymysql://...``). Every worker beats a heartbeat
into the storage; a trial whose worker stopped beating for ``grace_period`` seconds (a
killed process, a lost machine) is marked FAIL by the next worker that starts a trial
(Optuna's fail_stale_trials), and so is a trial that never beat at all once it is older
than the grace period (unbeaten.py).
"""
import importlib.util
import os
import warnings

DEFAULT_HEARTBEAT = 30   # seconds between a running trial's heartbeats
DEFAULT_GRACE = 120      # seconds without a heartbeat before a running trial is failed
SQLITE_BUSY_TIMEOUT = 60  # seconds a SQLite writer waits for the file lock


def normalise_url(url):
    """A SQLAlchemy URL for ``url``: a plain path means a SQLite file there;
    ``postgresql://`` gets the psycopg (3) driver when psycopg2 is not installed."""
    if "://" not in url:
        return "sqlite:///" + os.path.abspath(url)
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        have_psycopg2 = importlib.util.find_spec("psycopg2") is not None
        if not have_psycopg2 and importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + rest
        return "postgresql://" + rest
    return url


def sqlite_path(url):
    """The file of a ``sqlite:///`` URL (None for other URLs and in-memory SQLite)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix) and ":memory:" not in url:
        return url[len(prefix):]
    return None


def redact(url):
    """``url`` without its password, for printing."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    cred, host = rest.rsplit("@", 1)
    user = cred.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in cred else url


def _use_wal(path):
    """Switch the SQLite file to write-ahead logging (kept in the file): readers, such as
    a worker polling the study, then never block the writing worker."""
    import sqlite3
    con = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def open_storage(url, heartbeat_interval=DEFAULT_HEARTBEAT, grace_period=DEFAULT_GRACE):
    """An optuna RDBStorage at ``url`` (see normalise_url) with heartbeats on."""
    import optuna
    if heartbeat_interval < 1 or grace_period <= heartbeat_interval:
        raise ValueError(f"heartbeat interval ({heartbeat_interval}s) must be >= 1 and below "
                         f"the grace period ({grace_period}s)")
    url = normalise_url(url)
    path = sqlite_path(url)
    if path is not None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        _use_wal(path)
        # K processes write one file: wait for the lock instead of "database is locked".
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    else:
        # servers drop idle connections; check before use
        engine_kwargs = {"pool_pre_ping": True}
    with warnings.catch_warnings():   # heartbeats are "experimental" since Optuna 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        from gru4rec_fast.tune.unbeaten import HeartbeatStorage
        return HeartbeatStorage(url, engine_kwargs=engine_kwargs,
                                heartbeat_interval=int(heartbeat_interval),
                                grace_period=int(grace_period))


def fail_stale_trials(study):
    """Mark FAIL the running trials whose worker stopped beating (Optuna does it when a
    trial starts; call it before reading a finished study)."""
    import optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def wait_for_running_trials(study, poll=1.0, say=print):
    """Wait until no trial of ``study`` is RUNNING: trials of live workers (here or on
    other machines) finish; those of dead workers are failed once their grace period
    has passed. Returns the number of trials waited for."""
    import time
    from optuna.trial import TrialState
    first = None
    while True:
        fail_stale_trials(study)
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return first or 0
        if first is None:
            first = len(running)
            say(f"paropt: waiting for {first} running trial(s) of other workers "
                f"({', '.join(str(t.number) for t in running)})")
        time.sleep(poll)
