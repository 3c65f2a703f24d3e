"""One ``paropt`` trial: GRU4Rec with the fixed and the sampled hyperparameters is
trained on the training data and scored on the test data with the primary metric,
in-process through the Python API.

With pruning on, the metric is also measured after every epoch and reported to Optuna,
whose pruner may stop the trial there. A diverging trial (NaN/inf loss,
TrainingDivergedError) or one that runs out of GPU memory returns NaN, which Optuna
records as a failed trial (the reason is kept in the trial's ``error`` attribute); the
study goes on.
"""
import os
import socket
import sys

from gru4rec_fast.data import SessionDataset, read_events
from gru4rec_fast.model import GRU4Rec, TrainingDivergedError, evaluate

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def failures():
    """Exceptions that fail one trial but not the study: divergence, and running out of
    GPU memory with a large sampled setup."""
    import torch
    return (TrainingDivergedError, torch.cuda.OutOfMemoryError)


class TrialData:
    """The training and test events of a worker, read once; SessionDatasets built once
    per time_sort value (the test set on the training set's item index)."""

    def __init__(self, cfg):
        keys = dict(session_key=cfg.session_key, item_key=cfg.item_key, time_key=cfg.time_key)
        self.keys = keys
        self.train_events = read_events(cfg.train, **keys)
        self.test_events = read_events(cfg.test, **keys)
        self._built = {}

    def datasets(self, time_sort):
        if time_sort not in self._built:
            train = SessionDataset.from_events(self.train_events, time_sort=time_sort, **self.keys)
            test = SessionDataset.from_events(self.test_events, item_index=train.item_index,
                                              time_sort=time_sort, **self.keys)
            self._built[time_sort] = (train, test)
        return self._built[time_sort]


def make_model(cfg, params):
    """A GRU4Rec of ``cfg`` with ``params`` ([(name, value)], applied in order)."""
    model = GRU4Rec(device=cfg.device, seed=cfg.model_seed, backend=cfg.backend)
    for k, v in params:
        model.set_params(**{k: v})
    return model


def train_and_evaluate(cfg, data, params, cutoffs, on_epoch_end=None, verbose=False):
    """Train a model of ``params`` on ``data`` and return (model, evaluate(...) result)."""
    model = make_model(cfg, params)
    train, test = data.datasets(model.hyper["time_sort"])
    model.fit(train, sample_store_size=cfg.sample_store_size, verbose=verbose,
              on_epoch_end=on_epoch_end)
    return model, score(cfg, model, test, cutoffs)


def score(cfg, model, test, cutoffs):
    """evaluate() of ``model`` on the test SessionDataset with cfg's tie mode."""
    return evaluate(model, test, cutoffs=cutoffs, mode=cfg.eval_mode,
                    batch_size=cfg.eval_batch_size)


class Objective:
    """The function Optuna optimises: trial -> primary metric (maximised)."""

    def __init__(self, cfg, data=None):
        self.cfg = cfg
        self.interrupt = None          # worker.DeferredInterrupt: Ctrl-C only in training
        self.data = TrialData(cfg) if data is None else data
        # fail now, not in every trial, when the fixed setup or the data are unusable
        self.data.datasets(make_model(cfg, cfg.fixed).hyper["time_sort"])

    def __call__(self, trial):
        if self.interrupt is None:
            return self._run(trial)
        self.interrupt.arm()
        try:
            return self._run(trial)
        finally:
            self.interrupt.disarm()

    def _run(self, trial):
        import optuna
        from gru4rec_fast.tune.space import suggest
        cfg = self.cfg
        trial.set_user_attr("worker", WORKER_ID)
        sampled = suggest(cfg.space, trial)
        model = make_model(cfg, list(cfg.fixed) + list(sampled.items()))
        train, test = self.data.datasets(model.hyper["time_sort"])
        n_epochs = model.hyper["n_epochs"]
        last = {}

        def on_epoch_end(epoch, loss):
            trial.set_user_attr("epochs", epoch + 1)
            if cfg.pruning:
                value = score(cfg, model, test, [cfg.cutoff])[cfg.metric][cfg.cutoff]
                last[epoch] = value
                trial.report(value, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"{cfg.metric}@{cfg.cutoff} {value:.6f} after "
                                             f"epoch {epoch + 1}")

        try:
            model.fit(train, sample_store_size=cfg.sample_store_size, verbose=cfg.verbose,
                      on_epoch_end=on_epoch_end)
        except failures() as e:
            # NaN makes Optuna record the trial as FAIL (one log line, no traceback);
            # the reason stays with the trial
            trial.set_user_attr("error", f"{type(e).__name__}: {e}")
            print(f"Trial {trial.number}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return float("nan")
        if n_epochs - 1 in last:               # measured after the last epoch already
            return last[n_epochs - 1]
        return score(cfg, model, test, [cfg.cutoff])[cfg.metric][cfg.cutoff]
