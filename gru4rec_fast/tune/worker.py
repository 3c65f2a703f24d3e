"""``paropt`` workers: each runs trials one at a time until the study holds
``n_trials`` trials (counted over every worker on every machine) or its timeout ends.

``open_study`` creates or joins the study and checks that the joining process searches
the same space with the same fixed parameters and metric (stored in the study as the
user attribute ``paropt``). ``run_workers`` starts K worker processes on this machine
(spawned, one trial at a time each) and waits for them. A Ctrl-C reaches every worker,
which records its running trial as FAIL (Optuna's optimize does; DeferredInterrupt keeps
the signal out of the worker's storage calls) and exits, so the study stays consistent
and the same command continues it.
"""
import json
import os
import random
import signal
import sys
import threading
import time

STUDY_ATTR = "paropt"
BARRIER_TIMEOUT = 600        # seconds a worker waits for its siblings to load the data
CREATE_ATTEMPTS = 3          # tries to create/join a study on a database being set up


class StudyMismatchError(ValueError):
    """The existing study was started with other settings."""


class TrialLimit:
    """Optuna callback: stop this worker once the study holds ``n_trials`` started
    trials (running ones included, as they will finish; a killed worker's trial counts as
    the failed trial it becomes; enqueued WAITING ones do not, a worker runs them first).
    Workers that start a trial in the same instant can overshoot by at most K-1."""

    def __init__(self, n_trials):
        self.n_trials = int(n_trials)

    def reached(self, study):
        from optuna.trial import TrialState
        started = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        return len(study.get_trials(deepcopy=False, states=started)) >= self.n_trials

    def __call__(self, study, trial):
        if self.reached(study):
            study.stop()


class DeferredInterrupt:
    """SIGINT handling of a worker: a Ctrl-C during training interrupts at once (Optuna
    then records the trial as FAIL); one during the worker's own storage calls (asking
    for a trial, telling its result) is held until they are done, so that no trial is
    left RUNNING without a heartbeat that would ever fail it."""

    def __init__(self):
        self.pending = False
        self._armed = False
        self._previous = None

    def install(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handler(self, signum, frame):
        if self._armed:
            self._armed = False
            raise KeyboardInterrupt
        self.pending = True

    def check(self):
        """Raise the held Ctrl-C, if any."""
        if self.pending:
            raise KeyboardInterrupt

    def arm(self):
        """Interrupt at once from now on (raises a held Ctrl-C)."""
        self.check()
        self._armed = True

    def disarm(self):
        self._armed = False


def _sampler(cfg, index):
    import optuna
    seed = None if cfg.seed is None else cfg.seed + index
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(cfg):
    import optuna
    return optuna.pruners.MedianPruner() if cfg.pruning else optuna.pruners.NopPruner()


def open_study(cfg, index=0):
    """Create or join the study of ``cfg`` (maximising the metric); worker ``index``
    seeds its sampler with seed + index."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError
    from gru4rec_fast.tune.storage import open_storage
    for attempt in range(CREATE_ATTEMPTS):
        try:
            storage = open_storage(cfg.storage, cfg.heartbeat_interval, cfg.grace_period)
            study = optuna.create_study(storage=storage, study_name=cfg.study_name,
                                        direction="maximize", sampler=_sampler(cfg, index),
                                        pruner=_pruner(cfg), load_if_exists=True)
            break
        except SQLAlchemyError:
            # processes starting at once on a new database race to create its tables
            # ("table already exists"); the loser finds them on the next try
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.5 + random.random())
    mine = json.loads(json.dumps(cfg.signature()))       # as stored (lists, not tuples)
    theirs = study.user_attrs.get(STUDY_ATTR)
    if theirs is None:
        study.set_user_attr(STUDY_ATTR, mine)
    elif theirs != mine:
        diff = [k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
        raise StudyMismatchError(
            f"study {cfg.study_name!r} was started with other settings ({', '.join(diff)} "
            f"differ: study has {', '.join(f'{k}={theirs.get(k)}' for k in diff)}); use the "
            "same -fp/-opf/-pm/-m/-e/--model-seed, or another --study-name")
    return study


def run_worker(cfg, index=0, barrier=None):
    """Run trials of the study until it holds cfg.n_trials trials (or cfg.timeout);
    returns the number of trials this worker ran."""
    import optuna
    from gru4rec_fast import cpu_threads
    from gru4rec_fast.tune.objective import Objective
    cpu_threads.apply_default(cfg.threads)     # an explicit count: fit keeps it
    study = open_study(cfg, index)
    objective = Objective(cfg)
    if barrier is not None:        # start together, so that K workers share the trials
        try:
            barrier.wait(BARRIER_TIMEOUT)
        except threading.BrokenBarrierError:
            pass
    limit = TrialLimit(cfg.n_trials)
    ran = []
    interrupt = objective.interrupt = DeferredInterrupt().install()

    def after_trial(study, trial):
        ran.append(trial.number)
        if interrupt.pending:
            study.stop()
        limit(study, trial)

    t0 = time.monotonic()
    try:
        while not limit.reached(study):
            interrupt.check()
            left = None if cfg.timeout is None else cfg.timeout - (time.monotonic() - t0)
            if left is not None and left <= 0:
                break
            try:
                study.optimize(objective, n_trials=cfg.n_trials - len(ran), timeout=left,
                               callbacks=[after_trial])
                interrupt.check()
                break
            except optuna.exceptions.UpdateFinishedTrialError as e:
                # another worker marked our running trial FAIL: its heartbeats were late
                # by more than the grace period (an overloaded machine); go on
                print(f"paropt: {e}; a trial outlived the grace period without a heartbeat "
                      "(raise --grace); continuing", file=sys.stderr, flush=True)
    finally:
        interrupt.uninstall()
    return len(ran)


def _worker_process(cfg, index, barrier):
    try:
        n = run_worker(cfg, index, barrier)
        print(f"paropt worker {index} (pid {os.getpid()}): ran {n} trial(s)", flush=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:         # one line, as the CLI prints errors
        print(f"paropt worker {index} (pid {os.getpid()}): error: {type(e).__name__}: {e}",
              file=sys.stderr, flush=True)
        if barrier is not None:
            barrier.abort()
        sys.exit(1)


def run_workers(cfg, n_workers):
    """Run ``n_workers`` workers on this machine (1: in this process, else spawned
    processes) and return their exit statuses (0 = finished)."""
    if n_workers == 1:
        run_worker(cfg)
        return [0]
    import multiprocessing as mp
    ctx = mp.get_context("spawn")      # no fork of a process that holds torch threads
    barrier = ctx.Barrier(n_workers)
    procs = [ctx.Process(target=_worker_process, args=(cfg, i, barrier),
                         name=f"paropt-worker-{i}") for i in range(n_workers)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        _stop(procs)
        raise
    return [p.exitcode for p in procs]


def _stop(procs):
    """After a Ctrl-C: workers in this terminal got the SIGINT too and are failing their
    running trial; forward it to any that did not (e.g. a signal sent to this process
    only), then wait for them."""
    for p in procs:
        p.join(timeout=10)
    for p in procs:
        if p.is_alive():
            os.kill(p.pid, signal.SIGINT)
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():
            p.terminate()
            p.join()
