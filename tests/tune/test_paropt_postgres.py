"""Two ``paropt`` processes, as on two machines, share one study in a real PostgreSQL
server: a throwaway cluster in a temporary folder (initdb, pg_ctl on 127.0.0.1 and a
free port), stopped and deleted after. Skipped, with the reason, where the server
binaries or the psycopg driver are absent (scripts/install.sh installs both)."""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from gru4rec_fast.cli.train import read_parameter_file
from gru4rec_fast.tune.space import clean_value
from paropt_helpers import (FIXED, check_no_trial_lost_or_duplicated, load_study, need_optuna,
                            start_paropt, write_inputs)

optuna = need_optuna()


def _server_binaries():
    """The folder holding initdb and pg_ctl: PATH first, then Debian's
    /usr/lib/postgresql/<version>/bin (newest version)."""
    found = [shutil.which("initdb"), shutil.which("pg_ctl")]
    if all(found) and os.path.dirname(found[0]) == os.path.dirname(found[1]):
        return os.path.dirname(found[0])
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    return os.path.dirname(versions[-1]) if versions else None


def _unprivileged_user():
    """initdb refuses to run as root: run the server as 'postgres' (Debian's package
    creates it) or 'nobody'."""
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    bindir = _server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
                    "/usr/lib/postgresql/*/bin; scripts/install.sh installs Debian's postgresql")
    pytest.importorskip("psycopg", reason="the psycopg driver (tune extra) is not installed")
    prefix = []
    root = tempfile.mkdtemp(prefix="gru4rec-pg-")
    if os.geteuid() == 0:
        user, runuser = _unprivileged_user(), shutil.which("runuser")
        if user is None or runuser is None:
            shutil.rmtree(root)
            pytest.skip("running as root without a 'postgres'/'nobody' user or runuser: "
                        "initdb cannot run as root")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = [runuser, "-u", user.pw_name, "--"]
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    port = _free_port()

    def pg(*args, **kw):
        return subprocess.run(prefix + list(args), capture_output=True, text=True,
                              timeout=120, **kw)

    started = False
    try:
        p = pg(os.path.join(bindir, "initdb"), "-D", data, "-U", "gru4rec", "--auth=trust",
               "-E", "UTF8", "--no-sync")
        assert p.returncode == 0, p.stdout + p.stderr
        p = pg(os.path.join(bindir, "pg_ctl"), "-D", data, "-l", log, "-w", "-o",
               f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off", "start")
        assert p.returncode == 0, p.stdout + p.stderr + open(log).read()
        started = True
        yield f"postgresql://gru4rec@127.0.0.1:{port}/postgres"
    finally:
        if started:
            pg(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_a_trial(storage, name, proc, timeout=180):
    """Wait until process ``proc`` has started a trial of study ``name``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.1)
        if proc.poll() is not None:
            raise AssertionError(f"paropt exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            trials = load_study(storage, name).get_trials(deepcopy=False)
        except KeyError:                       # the study does not exist yet
            continue
        if any(t.user_attrs.get("worker", "").endswith(f":{proc.pid}") for t in trials):
            return
    raise AssertionError(f"process {proc.pid} started no trial in {timeout}s")


@pytest.mark.slow
def test_two_processes_share_one_postgresql_study(postgres_url, tmp_path):
    train, test, space = write_inputs(tmp_path / "inputs")
    fixed = FIXED.replace("n_epochs=2", "n_epochs=4")
    common = ("-nt", 8, "--storage", postgres_url, "--study-name", "shared")
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://")   # SQLAlchemy form
    first = start_paropt(train, test, space, tmp_path / "a", *common, "--seed", 1, fixed=fixed)
    second = None
    try:
        # The second "machine" joins once the first is running trials. The first is held
        # (SIGSTOP) until the second has started a trial too: trials take well under a
        # second now, and a free-running first process could finish all 8 before the
        # second's imports are done. Held for seconds, far below the 120 s grace period,
        # so its running trial is not failed as stale.
        _wait_for_a_trial(url, "shared", first)
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = start_paropt(train, test, space, tmp_path / "b", *common, "--seed", 2,
                                  fixed=fixed)
            _wait_for_a_trial(url, "shared", second)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        logs = [p.communicate(timeout=600)[0] for p in (first, second)]
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
    assert [first.returncode, second.returncode] == [0, 0], logs
    study = load_study(url, "shared")
    trials = check_no_trial_lost_or_duplicated(study, 8, 2, epochs=4)
    by = {}
    for t in trials:
        by.setdefault(t.user_attrs["worker"].rsplit(":", 1)[1], []).append(t.number)
    assert set(by) == {str(first.pid), str(second.pid)}, by       # both did work
    # both reports waited for every trial, so they name the same best setup
    for out in ("a", "b"):
        path = tmp_path / out / "best_params.py"
        assert f"trial {study.best_trial.number}," in path.read_text()
        params = dict(read_parameter_file(str(path)))
        for name in ("learning_rate", "momentum"):
            assert params[name] == clean_value(study.best_trial.params[name])
    for out in ("a", "b"):
        assert (tmp_path / out / "history.png").is_file()
        assert (tmp_path / out / "importances.png").is_file()
        assert not (tmp_path / out / "study.db").exists()     # the study lives in PostgreSQL
