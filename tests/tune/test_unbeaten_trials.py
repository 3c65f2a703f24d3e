"""A RUNNING trial that never recorded a heartbeat (its worker died between creating the
trial and its first beat) is failed once it is older than the grace period, by the same
checks that fail a dead worker's beating trials; a young one, or one that beats, is not.
Without this, paropt's report waited for such a trial for ever (a CI run hung here)."""
import threading
import time
from datetime import datetime, timedelta

import pytest

from paropt_helpers import need_optuna

optuna = need_optuna()

from gru4rec_fast.tune.storage import (fail_stale_trials, open_storage,  # noqa: E402
                                       wait_for_running_trials)

# study.ask() on a heartbeat storage warns that heartbeats belong to optimize(); asking
# without one is exactly the dead worker's trial these tests make
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
RUNNING, FAIL = optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL
GRACE = 2


@pytest.fixture
def study(tmp_path):
    storage = open_storage(str(tmp_path / "study.db"), heartbeat_interval=1, grace_period=GRACE)
    return optuna.create_study(storage=storage, study_name="s", direction="maximize")


def _backend(study):
    """Our storage (Optuna wraps an RDBStorage in a cache that forwards the stale check)."""
    return getattr(study._storage, "_backend", study._storage)


def _states(study):
    return {t.number: t.state for t in study.get_trials(deepcopy=False)}


def test_only_old_trials_without_a_heartbeat_are_unbeaten(study):
    storage = _backend(study)
    silent = study.ask()                                # RUNNING, no heartbeat
    beating = study.ask()
    storage.record_heartbeat(beating._trial_id)
    later = datetime.now() + timedelta(seconds=GRACE + 1)
    assert storage.unbeaten_trial_ids(study._study_id) == []           # still young
    assert storage.unbeaten_trial_ids(study._study_id, now=later) == [silent._trial_id]
    study.tell(silent, 1.0)                             # finished: no longer a candidate
    assert storage.unbeaten_trial_ids(study._study_id, now=later) == []


def test_a_trial_that_never_beat_is_failed_after_the_grace_period(study):
    silent = study.ask()
    beating = study.ask()
    study._storage.record_heartbeat(beating._trial_id)
    fail_stale_trials(study)
    assert _states(study) == {silent.number: RUNNING, beating.number: RUNNING}
    time.sleep(GRACE + 0.5)
    study._storage.record_heartbeat(beating._trial_id)  # alive: beats again
    fail_stale_trials(study)
    assert _states(study) == {silent.number: FAIL, beating.number: RUNNING}


def test_the_report_wait_ends_for_a_trial_that_never_beat(study):
    study.ask()                                         # the killed worker's trial
    done = []
    waiter = threading.Thread(target=lambda: done.append(
        wait_for_running_trials(study, poll=0.1, say=lambda *a: None)), daemon=True)
    waiter.start()
    waiter.join(GRACE + 20)
    assert done == [1], "wait_for_running_trials still waits for a trial that never beat"
    assert list(_states(study).values()) == [FAIL]
