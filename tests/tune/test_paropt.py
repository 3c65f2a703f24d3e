"""``gru4rec-fast paropt`` end to end on a SQLite study: the outputs, K worker processes
sharing one study, a worker killed mid-trial, Ctrl-C, diverging trials, per-epoch
pruning, --timeout, joining a study with other settings, bad arguments, and importing
the package without Optuna."""
import ast
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from gru4rec_fast.cli.train import read_parameter_file
from paropt_helpers import (FIXED, PNG_MAGIC, REPO, SPACE, check_no_trial_lost_or_duplicated,
                            env, load_study, need_optuna, paropt_command, run_paropt,
                            start_paropt, write_inputs)

optuna = need_optuna()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("paropt_inputs"))


def _sqlite(out):
    return f"sqlite:///{out}/study.db"


def _main(capsys, train, test, space, out, *extra, fixed=FIXED):
    """paropt in this process (one worker runs in-process): (exit status, output)."""
    from gru4rec_fast.cli import main
    rc = main(paropt_command(train, test, space, out, *extra, fixed=fixed)[3:])
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


@pytest.fixture
def restore_threads():
    import torch
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_one_worker_writes_every_output(inputs, tmp_path, capsys, restore_threads):
    train, test, space = inputs
    out = tmp_path / "out"
    rc, log = _main(capsys, train, test, space, out, "-nt", 4, "--seed", 1, "-m", 20,
                    "-fm", 5, 20)
    assert rc == 0, log
    study = load_study(_sqlite(out))
    check_no_trial_lost_or_duplicated(study, 4, 1)
    table = pd.read_csv(out / "trials.tsv", sep="\t")
    assert list(table.columns) == ["number", "state", "value", "epochs", "seconds", "worker",
                                   "learning_rate", "momentum", "elu_param", "error"]
    assert list(table["number"]) == [0, 1, 2, 3] and set(table["state"]) == {"COMPLETE"}
    assert (table["epochs"] == 2).all() and (table["seconds"] > 0).all()
    best = study.best_trial
    assert table["value"].max() == pytest.approx(best.value, abs=1e-12)
    # best_params.py: fixed + the best trial's values, in a file train -pf reads
    params = dict(read_parameter_file(str(out / "best_params.py")))
    ast.parse((out / "best_params.py").read_text())
    assert params["loss"] == "bpr-max" and params["layers"] == [16] and params["n_epochs"] == 2
    assert params["learning_rate"] == best.params["learning_rate"] or \
        params["learning_rate"] == pytest.approx(best.params["learning_rate"], rel=1e-11)
    elu = best.params["elu_param"]
    assert params["final_act"] == ("linear" if elu == 0 else f"elu-{elu:g}")
    for png in ("history.png", "importances.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC and (out / png).stat().st_size > 5000
    final = pd.read_csv(out / "final_evaluation.tsv", sep="\t")
    assert list(final["cutoff"]) == [5, 20]
    # same data, seed and parameters: the final run reproduces the best trial's score
    assert final["recall"].iloc[1] == pytest.approx(best.value, abs=1e-9)
    assert f"Recall@20: {best.value:.6f}" in log
    # the study is full: the same command runs no trial and reports again
    before = (out / "trials.tsv").stat().st_mtime_ns
    rc, log = _main(capsys, train, test, space, out, "-nt", 4, "--trials-only")
    assert rc == 0, log
    assert len(load_study(_sqlite(out)).trials) == 4
    assert (out / "trials.tsv").stat().st_mtime_ns == before      # --trials-only: no outputs


@pytest.mark.slow
def test_two_worker_processes_share_one_sqlite_study(inputs, tmp_path):
    train, test, space = inputs
    out = tmp_path / "out"
    rc, log = run_paropt(train, test, space, out, "-nt", 8, "--workers", 2, "--seed", 5)
    assert rc == 0, log
    trials = check_no_trial_lost_or_duplicated(load_study(_sqlite(out)), 8, 2)
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2, workers               # two processes, both ran trials
    ran = [int(line.split("ran ")[1].split()[0]) for line in log.splitlines()
           if "paropt worker" in line and " ran " in line]
    assert sorted(ran) == sorted(sum(t.user_attrs["worker"] == w for t in trials)
                                 for w in workers)
    assert sum(ran) == len(trials)
    assert (out / "best_params.py").is_file() and (out / "history.png").is_file()


def _wait_for_running_trial(storage, pid, timeout=120):
    """The number of a trial that process ``pid`` is running (polls the study)."""
    deadline = time.time() + timeout
    path = storage[len("sqlite:///"):]
    while time.time() < deadline:
        time.sleep(0.05)
        if not os.path.exists(path):
            continue
        try:
            trials = load_study(storage).get_trials(deepcopy=False)
        except Exception:             # the worker is still creating the study
            continue
        for t in trials:
            if t.state == optuna.trial.TrialState.RUNNING and \
                    t.user_attrs.get("worker", "").endswith(f":{pid}"):
                return t.number
    raise AssertionError(f"process {pid} started no trial in {timeout}s")


@pytest.mark.slow
def test_killed_worker_leaves_a_failed_trial_and_the_others_go_on(inputs, tmp_path):
    train, test, space = inputs
    out = tmp_path / "out"
    storage = _sqlite(out)
    # slower trials (6 epochs), so that the kill lands inside one
    fixed = FIXED.replace("n_epochs=2", "n_epochs=6")
    beat = ("--heartbeat", 1, "--grace", 8)
    victim = start_paropt(train, test, space, out, "-nt", 8, "--trials-only", *beat,
                          fixed=fixed)
    try:
        killed = _wait_for_running_trial(storage, victim.pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert load_study(storage).trials[killed].state == optuna.trial.TrialState.RUNNING
    rc, log = run_paropt(train, test, space, out, "-nt", 8, *beat, fixed=fixed)
    assert rc == 0, log
    trials = load_study(storage).get_trials(deepcopy=False)
    states = {t.number: t.state.name for t in trials}
    assert states.pop(killed) == "FAIL", states      # marked by the heartbeat check
    assert set(states.values()) == {"COMPLETE"}, (states, log)
    assert len(trials) in (8, 9)
    table = pd.read_csv(out / "trials.tsv", sep="\t")
    assert table.set_index("number").loc[killed, "state"] == "FAIL"


@pytest.mark.slow
def test_ctrl_c_leaves_the_study_consistent_and_the_command_continues_it(inputs, tmp_path,
                                                                         capsys,
                                                                         restore_threads):
    """SIGINT to the whole process group, as a terminal's Ctrl-C: the launcher and its two
    workers stop with status 130, the interrupted trials are FAIL (none left RUNNING),
    and the same command then completes the study."""
    train, test, space = inputs
    out = tmp_path / "out"
    storage = _sqlite(out)
    fixed = FIXED.replace("n_epochs=2", "n_epochs=5")      # longer trials to interrupt
    args = ("-nt", 5, "--workers", 2, "--heartbeat", 1, "--grace", 4)
    proc = subprocess.Popen(paropt_command(train, test, inputs[2], out, *args, fixed=fixed),
                            env=env(), cwd=REPO, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 180
        running = []
        while not running and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if not (out / "study.db").exists():     # let paropt create it
                continue
            try:
                running = load_study(storage).get_trials(
                    deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            except Exception:              # not created yet
                continue
        if not running:
            proc.kill()
            raise AssertionError(f"no trial started: {proc.communicate()[0]}")
        os.killpg(proc.pid, signal.SIGINT)
        log = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, log
    assert "the study 'gru4rec' is consistent" in log
    states = [t.state.name for t in load_study(storage).trials]
    assert "RUNNING" not in states and "FAIL" in states, states
    # the same study, continued (here in this process, with one worker)
    rc, log = _main(capsys, train, test, space, out, "-nt", 5, "--heartbeat", 1, "--grace", 4,
                    "--trials-only", fixed=fixed)
    assert rc == 0, log
    trials = load_study(storage).trials
    assert 5 <= len(trials) <= 6 and states == [t.state.name for t in trials][:len(states)]
    assert {t.state.name for t in trials[len(states):]} == {"COMPLETE"}


def _config(tmp_path, inputs, space, fixed, **kw):
    from gru4rec_fast.cli.paropt import _fixed
    from gru4rec_fast.tune.config import TuneConfig
    from gru4rec_fast.tune.space import parse_space
    train, test, _ = inputs
    return TuneConfig(train=str(train), test=str(test), space=parse_space(space.splitlines()),
                      storage=_sqlite(tmp_path), study_name="t", fixed=_fixed(fixed),
                      device="cpu", **kw)


@pytest.mark.slow
def test_diverging_trials_fail_with_the_reason_and_the_study_goes_on(inputs, tmp_path):
    from gru4rec_fast.tune.worker import open_study, run_worker
    space = ('{"name": "learning_rate", "dtype": "categorical", "values": [0.05, 1000000.0]}\n'
             '{"name": "momentum", "dtype": "float", "values": [0.0, 0.5], "step": 0.1}\n')
    cfg = _config(tmp_path, inputs, space, FIXED + ",adapt=none", n_trials=6, seed=1)
    assert run_worker(cfg) == 6
    trials = open_study(cfg).trials
    states = [t.state.name for t in trials]
    for t in trials:                 # plain SGD at lr 1e6 diverges, at 0.05 it does not
        diverges = t.params["learning_rate"] == 1e6
        assert t.state.name == ("FAIL" if diverges else "COMPLETE"), (t.params, t.state)
        assert ("diverged" in t.user_attrs.get("error", "")) == diverges
    assert "FAIL" in states and "COMPLETE" in states, states


@pytest.mark.slow
def test_pruning_stops_a_poor_trial_after_its_first_epoch(inputs, tmp_path):
    from gru4rec_fast.tune.worker import open_study, run_worker
    space = '{"name": "learning_rate", "dtype": "categorical", "values": [0.1, 0.0001]}\n'
    cfg = _config(tmp_path, inputs, space, FIXED.replace("n_epochs=2", "n_epochs=3"),
                  n_trials=6, pruning=True)
    study = open_study(cfg)
    for _ in range(5):               # five good trials, then a nearly untrained one
        study.enqueue_trial({"learning_rate": 0.1})
    study.enqueue_trial({"learning_rate": 0.0001})
    run_worker(cfg)
    trials = open_study(cfg).trials
    for t in trials[:5]:
        assert t.state.name == "COMPLETE"
        assert sorted(t.intermediate_values) == [0, 1, 2]
        assert t.value == t.intermediate_values[2]      # the last epoch's measurement
    poor = trials[5]
    assert poor.state.name == "PRUNED", poor
    assert list(poor.intermediate_values) == [0] and poor.user_attrs["epochs"] == 1
    assert poor.intermediate_values[0] < trials[0].intermediate_values[0]


def test_joining_a_study_with_other_settings_is_refused(inputs, tmp_path, capsys,
                                                       restore_threads):
    train, test, space = inputs
    out = tmp_path / "out"
    rc, log = _main(capsys, train, test, space, out, "-nt", 1, "--trials-only")
    assert rc == 0, log
    rc, log = _main(capsys, train, test, space, out, "-nt", 2, "--trials-only",
                    fixed=FIXED.replace("layers=16", "layers=24"))
    assert rc == 2
    assert "was started with other settings (fixed differ" in log
    assert len(load_study(_sqlite(out)).trials) == 1


@pytest.mark.parametrize("args, message", [
    (["-nt", "-1"], "-nt/--ntrials must be >= 0"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--heartbeat", "5", "--grace", "5"], "below --grace"),
    (["-fm", "0"], "cut-offs must be positive"),
    (["-fp", "layers=0"], "-fp/--fixed_parameters: "),
])
def test_bad_arguments_exit_2_with_one_line(inputs, tmp_path, capsys, args, message):
    from gru4rec_fast.cli import main
    train, test, space = inputs
    rc = main(["paropt", str(train), str(test), "-opf", str(space), "-d", "cpu",
               "-o", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "o").exists()          # nothing created


def test_bad_space_file_exits_2_naming_the_line(inputs, tmp_path, capsys):
    from gru4rec_fast.cli import main
    train, test, _ = inputs
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "momentum", "dtype": "float", "values": [0.0, 0.9]}\n'
                   '{"name": "layerz", "dtype": "int", "values": [8, 16]}\n')
    rc = main(["paropt", str(train), str(test), "-opf", str(bad), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "line 2: unknown hyperparameter 'layerz'" in err, err


def test_package_and_cli_import_without_optuna():
    """The tune extra is optional: with optuna, matplotlib and psycopg unimportable, the
    package, the CLI parser and the space reader load, and paropt says what to install."""
    code = (
        "import sys\n"
        "for m in ('optuna', 'matplotlib', 'psycopg', 'sqlalchemy'): sys.modules[m] = None\n"
        "import gru4rec_fast, gru4rec_fast.cli, gru4rec_fast.tune.space\n"
        "gru4rec_fast.cli.build_parser()\n"
        "sys.exit(gru4rec_fast.cli.main(['paropt', 'a', 'b', '-opf', 'c']))\n")
    p = subprocess.run([sys.executable, "-c", code], env=env(), cwd=REPO, text=True,
                       capture_output=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "paropt needs Optuna: pip install 'gru4rec_fast[tune]'" in p.stderr


@pytest.mark.slow
def test_timeout_stops_starting_trials(inputs, tmp_path, restore_threads):
    from gru4rec_fast.tune.worker import open_study, run_worker
    cfg = _config(tmp_path, inputs, SPACE, FIXED, n_trials=100, timeout=1.0, seed=2)
    t0 = time.monotonic()
    ran = run_worker(cfg)
    assert 1 <= ran < 100 and time.monotonic() - t0 < 60
    assert len(open_study(cfg).trials) == ran


def test_plots_skip_importances_below_two_completed_trials(tmp_path):
    from gru4rec_fast.tune import report
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    done = report.write_plots(study, str(tmp_path))
    assert done == {"history.png": None,
                    "importances.png": "needs 2 completed trials, the study has 1"}
    assert (tmp_path / "history.png").read_bytes()[:8] == PNG_MAGIC
    assert not (tmp_path / "importances.png").exists()
