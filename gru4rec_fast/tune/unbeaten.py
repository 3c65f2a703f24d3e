"""The storage class of a paropt study: Optuna's RDBStorage, plus one case its stale-trial
check misses.

Optuna fails a RUNNING trial whose last heartbeat is older than the grace period, but a
trial with no heartbeat at all is never stale to it. A worker records its first heartbeat
from a thread started just after it created the trial, so a worker killed in between
(or whose heartbeat thread had not yet reached the database) leaves a trial RUNNING
forever: TrialLimit counts it, and paropt's report would wait for it without end. Here
such a trial counts as stale once it is older than the grace period, so whoever checks
(a worker starting a trial, the report's wait) fails it like any other dead worker's.

Imported only when Optuna is (the tune extra).
"""
from datetime import datetime, timedelta

import optuna
from optuna.storages._rdb import models   # the heartbeat table; Optuna >= 2.9
from optuna.trial import TrialState


class HeartbeatStorage(optuna.storages.RDBStorage):
    """RDBStorage whose stale trials include RUNNING trials that never beat and started
    more than the grace period ago (by this machine's clock, as Optuna's own start times:
    a live worker beats within milliseconds of the start, so clock skew between machines
    cannot make a live trial look unbeaten for long)."""

    def _get_stale_trial_ids(self, study_id):
        stale = list(super()._get_stale_trial_ids(study_id))
        return stale + [i for i in self.unbeaten_trial_ids(study_id) if i not in stale]

    def unbeaten_trial_ids(self, study_id, now=None):
        """RUNNING trials of the study with no heartbeat, started over grace_period ago."""
        grace = self.grace_period if self.grace_period is not None else 2 * self.heartbeat_interval
        limit = (now or datetime.now()) - timedelta(seconds=grace)
        session = self.scoped_session()
        try:
            running = (session.query(models.TrialModel)
                       .filter(models.TrialModel.study_id == study_id,
                               models.TrialModel.state == TrialState.RUNNING)
                       .all())
            # ORM objects: their datetime_start is local time in every Optuna version
            # (newer ones store UTC in the column and convert in a property)
            return [t.trial_id for t in running
                    if not t.heartbeats and t.datetime_start is not None
                    and t.datetime_start < limit]
        finally:
            session.close()
