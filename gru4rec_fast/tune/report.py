"""The outputs of a ``paropt`` study, written atomically into the output folder:

    trials.tsv            every trial: number, state, value, epochs, seconds, worker,
                          the sampled parameters, error (of failed trials)
    best_params.py        fixed + best sampled parameters as a parameter file that
                          ``gru4rec-fast train -pf`` reads
    history.png           Optuna's optimisation history plot (matplotlib)
    importances.png       Optuna's parameter-importance plot (matplotlib)
    final_evaluation.tsv  recall and MRR of the best setup at the -fm cut-offs
"""
import os
import warnings
from collections import OrderedDict

from gru4rec_fast._atomic import atomic_write as _atomic_write
from gru4rec_fast.tune.space import clean_value

TRIALS = "trials.tsv"
BEST_PARAMS = "best_params.py"
HISTORY = "history.png"
IMPORTANCES = "importances.png"
FINAL = "final_evaluation.tsv"


def atomic_write(path, write):
    """Call ``write(tmp_path)``, then move the file to ``path`` atomically, creating the
    folder first (gru4rec_fast._atomic)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _atomic_write(path, write)


def _seconds(t):
    if t.datetime_start is None or t.datetime_complete is None:
        return None
    return round((t.datetime_complete - t.datetime_start).total_seconds(), 3)


def trials_table(study, space):
    """A DataFrame with one row per trial of ``study`` (see the module doc)."""
    import pandas as pd
    names = [p.name for p in space]
    rows = []
    for t in study.get_trials(deepcopy=False):
        row = OrderedDict(number=t.number, state=t.state.name, value=t.value,
                          epochs=t.user_attrs.get("epochs"), seconds=_seconds(t),
                          worker=t.user_attrs.get("worker"))
        for n in names:
            row[n] = clean_value(t.params.get(n))
        row["error"] = t.user_attrs.get("error")
        rows.append(row)
    cols = ["number", "state", "value", "epochs", "seconds", "worker"] + names + ["error"]
    table = pd.DataFrame(rows, columns=cols)
    table["epochs"] = table["epochs"].astype("Int64")     # integers with blanks
    return table


def write_trials_table(table, path):
    atomic_write(path, lambda tmp: table.to_csv(tmp, sep="\t", index=False))


def best_parameters(study, cfg):
    """The fixed parameters, then the best trial's sampled ones, as an OrderedDict;
    None when no trial completed."""
    from gru4rec_fast.tune.objective import make_model
    try:
        best = study.best_trial
    except ValueError:
        return None
    items = list(cfg.fixed) + [(k, clean_value(v)) for k, v in best.params.items()]
    hyper = make_model(cfg, items).hyper     # resolves aliases (elu_param -> final_act)
    out = OrderedDict()
    for k, _ in items:
        name = "final_act" if k == "elu_param" else k
        out[name] = hyper[name]
    return out


def write_parameter_file(params, path, header):
    """A parameter file of ``params`` (literal values, read with ast.literal_eval)."""
    lines = ['"""' + header.strip() + '\n"""', "from collections import OrderedDict", "",
             "gru4rec_params = OrderedDict(["]
    lines += [f"    ({k!r}, {v!r})," for k, v in params.items()]
    lines += ["])", ""]
    text = "\n".join(lines)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    atomic_write(path, write)


def write_plots(study, out_dir):
    """history.png and importances.png; returns {file: None or the reason it was not
    drawn} (importances need two completed trials that differ)."""
    import matplotlib
    matplotlib.use("Agg")              # files only, no display
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as vis
    done = {}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    for name, plot in ((HISTORY, vis.plot_optimization_history),
                       (IMPORTANCES, vis.plot_param_importances)):
        if name == IMPORTANCES and len(complete) < 2:
            done[name] = f"needs 2 completed trials, the study has {len(complete)}"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                warnings.simplefilter("ignore", UserWarning)    # matplotlib: empty legends
                ax = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as e:
            done[name] = f"{type(e).__name__}: {e}"
            continue
        fig = ax.figure
        fig.set_size_inches(8, 5)
        fig.tight_layout()
        atomic_write(os.path.join(out_dir, name),
                     lambda tmp: fig.savefig(tmp, format="png", dpi=100))
        plt.close(fig)
        done[name] = None
    return done


def write_final_evaluation(result, cutoffs, path):
    import pandas as pd
    table = pd.DataFrame({"cutoff": cutoffs,
                          "recall": [result["recall"][c] for c in cutoffs],
                          "mrr": [result["mrr"][c] for c in cutoffs]})
    atomic_write(path, lambda tmp: table.to_csv(tmp, sep="\t", index=False))
