"""GRU4Rec model layer: hyperparameters, network, training backends, evaluation,
serving and persistence (built on gru4rec_fast.data and gru4rec_fast.ops)."""
from gru4rec_fast.model.gru4rec import GRU4Rec, TrainingDivergedError
from gru4rec_fast.model.evaluation import evaluate
from gru4rec_fast.model.params import DEFAULTS
from gru4rec_fast.model.checkpoint import CheckpointMismatchError

__all__ = ["GRU4Rec", "TrainingDivergedError", "CheckpointMismatchError", "evaluate", "DEFAULTS"]
