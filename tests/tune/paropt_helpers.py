"""Shared pieces of the paropt tests: tiny data files, a small search space, tiny fixed
parameters (a trial takes about a second on one thread), and running the command as its
own process, as a user or a second machine would."""
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXED = "loss=bpr-max,layers=16,n_sample=32,batch_size=32,n_epochs=2,constrained_embedding=True"
SPACE = """\
{"name": "learning_rate", "dtype": "float", "values": [0.02, 0.2], "step": 0.01}
{"name": "momentum", "dtype": "float", "values": [0.0, 0.5], "step": 0.1}
{"name": "elu_param", "dtype": "categorical", "values": [0.5, 1, 0]}
"""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def need_optuna():
    return pytest.importorskip("optuna", reason="the tune extra (pip install .[tune]) is not "
                                                "installed")


def write_inputs(folder, space=SPACE):
    """train.tsv, test.tsv (synthetic 'tiny' preset) and space.json in ``folder``."""
    from gru4rec_fast.data import synthetic
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    train, test = synthetic.preset("tiny", seed=0)
    train.to_csv(folder / "train.tsv", sep="\t", index=False)
    test.to_csv(folder / "test.tsv", sep="\t", index=False)
    (folder / "space.json").write_text(space)
    return folder / "train.tsv", folder / "test.tsv", folder / "space.json"


def env():
    """The environment of a paropt process: this checkout first on the path, one thread."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e["OMP_NUM_THREADS"] = "1"
    return e


def paropt_command(train, test, space, out, *extra, fixed=FIXED):
    return [sys.executable, "-m", "gru4rec_fast", "paropt", str(train), str(test),
            "-opf", str(space), "-fp", fixed, "-d", "cpu", "-o", str(out), "--threads", "1",
            *map(str, extra)]


def start_paropt(*args, **kw):
    """The paropt command as a running process (stdout+stderr in one pipe)."""
    return subprocess.Popen(paropt_command(*args, **kw), env=env(), cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_paropt(*args, timeout=300, **kw):
    p = subprocess.run(paropt_command(*args, **kw), env=env(), cwd=REPO, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout


def load_study(storage, name="gru4rec"):
    import optuna
    return optuna.load_study(study_name=name, storage=storage)


def check_no_trial_lost_or_duplicated(study, n_trials, n_workers, epochs=2):
    """The study holds n_trials trials (up to n_workers-1 more when workers started one
    in the same instant), numbered 0..T-1 once each, all finished: none left RUNNING,
    none lost, none run twice."""
    import optuna
    trials = study.get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials)
    assert n_trials <= len(trials) <= n_trials + n_workers - 1, len(trials)
    assert numbers == list(range(len(trials)))
    states = {t.number: t.state for t in trials}
    assert all(s == optuna.trial.TrialState.COMPLETE for s in states.values()), states
    # each trial ran once, in one worker, start to end (a value and its epochs)
    for t in trials:
        assert t.value is not None and t.user_attrs.get("epochs") == epochs, t
    return trials
