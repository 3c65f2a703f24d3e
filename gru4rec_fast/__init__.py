"""gru4rec_fast: a fast, faithful GRU4Rec with C++/CUDA kernels.

The package imports without its compiled extension; calling a fused op then raises an
error that says how to build it (see gru4rec_fast._ext).
"""
__version__ = "0.1.0"

from gru4rec_fast.cpu_threads import set_num_threads  # noqa: E402  (light: torch loads on call)


def __getattr__(name):
    # GRU4Rec / evaluate load lazily so `import gru4rec_fast` stays light.
    if name in ("GRU4Rec", "evaluate", "TrainingDivergedError"):
        from gru4rec_fast import model
        return getattr(model, name)
    raise AttributeError(f"module 'gru4rec_fast' has no attribute {name!r}")
