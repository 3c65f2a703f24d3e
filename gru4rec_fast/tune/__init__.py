"""Hyperparameter optimisation of GRU4Rec on Optuna (``gru4rec-fast paropt``).

    config.py     the settings of a run (TuneConfig), shared with worker processes
    space.py      the parameter-space file (one JSON object per line) and its sampling
    storage.py    the Optuna storage: a SQLite file by default, any RDB URL to share a
                  study between machines; heartbeats mark killed workers' trials failed
    objective.py  one trial: train with fixed + sampled parameters, evaluate, prune
    worker.py     a worker process (trials one at a time until the study has N trials)
                  and the launch of K of them on this machine
    report.py     the outputs: best-parameter file, trials table, plots

Optuna, matplotlib and the PostgreSQL driver come with the ``tune`` extra
(``pip install gru4rec_fast[tune]``); only space.py imports without them.
"""
