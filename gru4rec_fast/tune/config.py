"""The settings of a ``paropt`` run, shared by the launching process and its workers
(a plain dataclass, so it pickles into spawned worker processes)."""
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class TuneConfig:
    train: str                    # training data (path)
    test: str                     # data each trial is evaluated on (path)
    space: list                   # [space.Parameter]
    storage: str                  # storage URL (storage.normalise_url form)
    study_name: str
    fixed: list = field(default_factory=list)   # [(name, value)] applied before the sampled ones
    n_trials: int = 50            # trials in the study in total, over all workers and machines
    timeout: Optional[float] = None   # seconds after which a worker starts no new trial
    metric: str = "recall"        # recall | mrr
    cutoff: int = 20              # the metric's cut-off (-m)
    eval_mode: str = "standard"
    device: str = "cpu"
    seed: Optional[int] = None    # the sampler's seed (worker i uses seed + i)
    model_seed: int = 42          # the GRU4Rec seed of every trial (init, dropout, sampling)
    backend: str = "fused"
    pruning: bool = False         # report the metric after each epoch; median pruner
    threads: int = 1              # torch intra-op threads per worker
    heartbeat_interval: int = 30
    grace_period: int = 120
    sample_store_size: int = 10_000_000
    eval_batch_size: int = 512
    session_key: str = "SessionId"
    item_key: str = "ItemId"
    time_key: str = "Time"
    verbose: bool = False         # print each trial's epoch lines

    def signature(self):
        """What every process joining the study must agree on (stored in the study)."""
        return {"fixed": [[k, v] for k, v in self.fixed],
                "space": [p.as_dict() for p in self.space],
                "metric": self.metric, "cutoff": self.cutoff, "eval_mode": self.eval_mode,
                "model_seed": self.model_seed}
