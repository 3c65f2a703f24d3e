"""Does the duplicate-id rule of the row-sparse update change the metrics? (issue 11, item 2)

Our optimisers sum the gradients of all occurrences of an item id in one step and update
that row once (as the authors' PyTorch port). The original Theano implementation updates
per occurrence: the row gradients of the item tables are taken with respect to the
gathered rows (one row per occurrence); the accumulator (and the momentum velocity) is
written with an advanced *assignment* with duplicate indices, so it keeps one
occurrence's new value (the last one: sequential assignment); the parameter is written
with an advanced *increment*, so it receives the sum of the per-occurrence steps, each
scaled by its own accumulator value. For adagrad, with a_old the row's accumulator before
the step and g_o the gradient of occurrence o:

    acc_o   = a_old + g_o^2                      (rmsprop: rho a_old + (1-rho) g_o^2)
    delta_o = lr * (g_o / sqrt(acc_o + eps) + lmbd * p_old)     (L2 outside the scaling)
    momentum == 0:  p += -sum_o delta_o
    momentum  > 0:  v_o = momentum v_old - delta_o;  p += sum_o v_o;  v = v_last
    accumulator = acc_last

This script trains the reference backend (``ReferenceStep``, plain PyTorch) in two modes,
"summed" (the library as is) and "per-occurrence" (``per_occurrence_row_update_`` below,
substituted for the row update inside this script only), on the real Diginetica sample
(tests/data/files, preprocessed with gru4rec_fast.data.preprocess; its train_full/test
split) and on a synthetic preset, for several seeds, and reports Recall@20 / MRR@20 per
mode, the paired per-seed differences, and how often ids repeat within a step.

    python benches/duplicates.py [--datasets diginetica synthetic] [--setups ...]
        [--seeds 1 2 3] [--epochs 3] [--synthetic small] [--synthetic-events N]
        [--params "batch_size=128,n_sample=2048"] [--count-steps N] [--out FILE]

``--params`` overrides hyperparameters of every setup (reference parameter string);
``--count-steps N`` only counts duplicates over the first N steps of one summed-mode
epoch (no evaluation), e.g. on a large synthetic preset.
"""
import argparse
import contextlib
import math
import pathlib
import statistics
import sys
import tempfile
import time

import pandas as pd
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))
from timing import format_table, machine_name  # noqa: E402

from gru4rec_fast.data import synthetic  # noqa: E402
from gru4rec_fast.data.preprocess import preprocess  # noqa: E402
from gru4rec_fast.model import GRU4Rec, evaluate  # noqa: E402
from gru4rec_fast.model import backends  # noqa: E402
from gru4rec_fast.ops import enums  # noqa: E402
from gru4rec_fast.ops.enums import resolve_adapt_params  # noqa: E402

DIGINETICA_RAW = ROOT / "tests" / "data" / "files" / "diginetica_sample_train-item-views.csv"

SETUPS = {
    "bpr-max/elu-0.5": dict(loss="bpr-max", final_act="elu-0.5", bpreg=1.0),
    "cross-entropy/softmax+logq": dict(loss="cross-entropy", final_act="softmax", logq=1.0),
    "bpr-max/elu-0.5+momentum": dict(loss="bpr-max", final_act="elu-0.5", bpreg=1.0,
                                     momentum=0.3),
}
COMMON = dict(layers=[64], batch_size=64, n_sample=1024, sample_alpha=0.5,
              constrained_embedding=True, learning_rate=0.05, momentum=0.0)
MODES = ("summed", "per-occurrence")


# -- the original's rule ------------------------------------------------------------------

def last_occurrence(ids):
    """(unique ids, position in ``ids`` of each one's last occurrence)."""
    uniq, inv = torch.unique(ids, return_inverse=True)
    pos = torch.arange(ids.numel(), device=ids.device)
    last = torch.full((uniq.numel(),), -1, dtype=torch.long, device=ids.device)
    last.scatter_reduce_(0, inv, pos, reduce="amax", include_self=True)
    return uniq, last


def per_occurrence_row_update_(param, ids, grads, state, lr, momentum=0.0, lmbd=0.0, eps=1e-6,
                               adapt_params=None):
    """Row-sparse optimiser step with the original's duplicate rule (see the module doc),
    in place: every occurrence is a separate step computed from the row's state before
    the step; the parameter gets the sum of those steps, the accumulator and velocity
    the last occurrence's value. sgd, adagrad and rmsprop (with or without momentum);
    same arguments as ``gru4rec_fast.ops.reference.sparse_row_update_``."""
    opt = state.optimizer
    if opt not in (enums.OPT_SGD, enums.OPT_ADAGRAD, enums.OPT_RMSPROP):
        raise NotImplementedError("per_occurrence_row_update_: sgd, adagrad and rmsprop only")
    if momentum > 0 and state.velocity.numel() == 0:
        raise ValueError("per_occurrence_row_update_: momentum > 0 needs a state with velocity")
    if ids.numel() == 0:
        return param
    rho, _ = resolve_adapt_params(opt, adapt_params)
    n = param.shape[0]
    p = param.view(n, -1)
    g = grads.reshape(ids.numel(), -1)
    uniq, last = last_occurrence(ids)
    p_old = p[ids]                                     # gathered before any write
    if opt == enums.OPT_SGD:
        u = g
    else:
        s1 = state.state1.view(n, -1)
        if opt == enums.OPT_ADAGRAD:
            acc = s1[ids] + g * g
        else:
            acc = rho * s1[ids] + (1 - rho) * g * g
        s1.index_copy_(0, uniq, acc[last])             # set_subtensor: the last one stays
        u = g / torch.sqrt(acc + eps)
    if lmbd:
        u = u + lmbd * p_old
    if momentum > 0:
        vel = state.velocity.view(n, -1)
        v_new = momentum * vel[ids] - lr * u
        vel.index_copy_(0, uniq, v_new[last])          # set_subtensor: the last one stays
        p.index_add_(0, ids, v_new)                    # inc_subtensor: the steps add up
    else:
        p.index_add_(0, ids, -lr * u)
    return param


# -- substituting the rule in the reference backend ----------------------------------------

class DuplicateCounter:
    """Per table: steps, ids seen, repeated ids (occurrences beyond the first), and the
    sum over steps of the per-step repeated fraction."""

    def __init__(self):
        self.tables = {}

    def add(self, name, ids):
        m = ids.numel()
        if m == 0:
            return
        rep = m - int(torch.unique(ids).numel())
        t = self.tables.setdefault(name, [0, 0, 0, 0.0])
        t[0] += 1
        t[1] += m
        t[2] += rep
        t[3] += rep / m

    def summary(self):
        """{table: (mean ids per step, mean repeated fraction per step, pooled fraction)}."""
        return {k: (m / s, f / s, r / m) for k, (s, m, r, f) in self.tables.items()}


def make_step_class(mode, counter=None):
    """A ReferenceStep whose row updates follow ``mode`` and count duplicates."""
    row_update = {"summed": None, "per-occurrence": per_occurrence_row_update_}[mode]

    class Step(backends.ReferenceStep):
        def apply_updates(self, dense, rows):
            if counter is not None:
                for k, ids, _ in rows:
                    counter.add(k, ids)
            return super().apply_updates(dense, rows)

        def update_rows(self, k, ids, r):
            if row_update is None:
                return super().update_rows(k, ids, r)
            row_update(self.w[k], ids, r, self.sparse_states[k], self.lr,
                       momentum=self.momentum, lmbd=self.lmbd, eps=1e-6,
                       adapt_params=list(self.adapt_params))

    Step.__name__ = f"ReferenceStep[{mode}]"
    return Step


@contextlib.contextmanager
def duplicate_rule(mode, counter=None):
    """Within the block, GRU4Rec(backend="reference") trains with the given rule."""
    original = backends.BACKENDS["reference"]
    backends.BACKENDS["reference"] = make_step_class(mode, counter)
    try:
        yield
    finally:
        backends.BACKENDS["reference"] = original


# -- data ---------------------------------------------------------------------------------

def load_diginetica():
    with tempfile.TemporaryDirectory() as tmp:
        preprocess("diginetica", DIGINETICA_RAW, tmp, progress=False, verbose=False)
        read = lambda s: pd.read_csv(pathlib.Path(tmp) / f"diginetica_{s}.tsv", sep="\t")  # noqa: E731
        return read("train_full"), read("test")


def load(name, args):
    if name == "diginetica":
        return load_diginetica()
    extra = {} if args.synthetic_events is None else {"n_events": args.synthetic_events}
    return synthetic.preset(args.synthetic, seed=0, **extra)


# -- statistics ---------------------------------------------------------------------------

def spread(vals):
    return f"{statistics.mean(vals):.4f} [{min(vals):.4f}, {max(vals):.4f}]"


def paired(a, b):
    """Mean per-seed difference b - a, its standard error, and mean / SE (paired t)."""
    d = [y - x for x, y in zip(a, b)]
    m = statistics.mean(d)
    if len(d) < 2:
        return m, float("nan"), float("nan")
    se = statistics.stdev(d) / math.sqrt(len(d))
    t = m / se if se > 0 else (math.copysign(math.inf, m) if m else 0.0)
    return m, se, t


def add_dup_rows(dup_rows, ds, setup, counter):
    for table, (ids, frac, pooled) in counter.summary().items():
        dup_rows.append([ds, setup, table, f"{ids:.0f}", f"{100 * frac:.1f}%",
                         f"{100 * pooled:.1f}%"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["diginetica", "synthetic"],
                    choices=["diginetica", "synthetic"])
    ap.add_argument("--setups", nargs="+", default=list(SETUPS)[:2], choices=list(SETUPS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--digi-seeds", type=int, nargs="+", default=None,
                    help="seeds for the (tiny, fast) Diginetica sample (default: --seeds)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--synthetic", default="small")
    ap.add_argument("--synthetic-events", type=int, default=None,
                    help="override the preset's number of events")
    ap.add_argument("--params", default="", help="hyperparameter overrides, e.g. "
                    "'batch_size=128,n_sample=2048'")
    ap.add_argument("--count-steps", type=int, default=None,
                    help="only count duplicates over this many steps (no evaluation)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    rows, summary, dup_rows = [], [], []
    headers = []
    for ds in args.datasets:
        train, test = load(ds, args)
        label = (f"{ds} ({len(train)} train / {len(test)} test events, "
                 f"{train['ItemId'].nunique()} items)")
        headers.append(label)
        seeds = args.digi_seeds if ds == "diginetica" and args.digi_seeds else args.seeds
        for setup in args.setups:
            res = {m: [] for m in MODES}
            counter = DuplicateCounter()
            if args.count_steps:
                with duplicate_rule("summed", counter):
                    model = GRU4Rec(backend="reference", seed=seeds[0], n_epochs=1,
                                    **{**COMMON, **SETUPS[setup]})
                    model.set_params(args.params)
                    model.fit(train, verbose=False, max_steps=args.count_steps)
                add_dup_rows(dup_rows, ds, setup, counter)
                continue
            for seed in seeds:
                for mode in MODES:
                    with duplicate_rule(mode, counter if mode == "summed" else None):
                        model = GRU4Rec(backend="reference", seed=seed, n_epochs=args.epochs,
                                        **{**COMMON, **SETUPS[setup]})
                        model.set_params(args.params)
                        t0 = time.time()
                        model.fit(train, verbose=False)
                        fit_s = time.time() - t0
                    r = evaluate(model, test, cutoffs=(20,))
                    res[mode].append((r["recall"][20], r["mrr"][20]))
                    rows.append([ds, setup, seed, mode, f"{r['recall'][20]:.4f}",
                                 f"{r['mrr'][20]:.4f}", r["n_events"], f"{fit_s:.0f}"])
                    print(" | ".join(str(c) for c in rows[-1]), flush=True)
            for i, metric in enumerate(("Recall@20", "MRR@20")):
                a = [v[i] for v in res["summed"]]
                b = [v[i] for v in res["per-occurrence"]]
                m, se, t = paired(a, b)
                summary.append([ds, setup, metric, len(seeds), spread(a), spread(b),
                                f"{m:+.4f}", f"{se:.4f}", f"{t:+.1f}",
                                f"{max(max(a) - min(a), max(b) - min(b)):.4f}"])
            add_dup_rows(dup_rows, ds, setup, counter)
    if args.count_steps:
        text = (f"### Duplicates per step, first {args.count_steps} steps"
                + (f", params {args.params}" if args.params else "") + "\n\n"
                + "Data: " + "; ".join(headers) + "\n\n"
                + format_table(dup_rows, ["data", "setup", "table", "ids/step",
                                          "repeated (mean/step)", "repeated (pooled)"]) + "\n")
        return finish(text, args.out)
    text = (f"### Duplicate-id rule: summed vs per-occurrence, reference backend, "
            f"{args.epochs} epochs"
            + (f", params {args.params}" if args.params else "")
            + f", {machine_name('cpu')}\n\n"
            + "Data: " + "; ".join(headers) + "\n\n"
            + format_table(rows, ["data", "setup", "seed", "mode", "Recall@20", "MRR@20",
                                  "ranked events", "fit (s)"])
            + "\n\nPer mode: mean [min, max] over seeds; paired difference per-occurrence - "
              "summed (same seed: same init and samples): mean, standard error, mean/SE; "
              "seed range: the larger max - min of the two modes.\n\n"
            + format_table(summary, ["data", "setup", "metric", "seeds", "summed",
                                     "per-occurrence", "diff", "SE", "diff/SE",
                                     "seed range"])
            + "\n\nDuplicates per step (summed-mode runs, all seeds and epochs): ids of each "
              "item table per step, the mean per-step fraction of them that repeat an id "
              "already in the step, and the pooled fraction.\n\n"
            + format_table(dup_rows, ["data", "setup", "table", "ids/step",
                                      "repeated (mean/step)", "repeated (pooled)"]) + "\n")
    finish(text, args.out)


def finish(text, out):
    print(text)
    if out:
        out = pathlib.Path(out)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(out)


if __name__ == "__main__":
    main()
