"""Continued training with new items (fit(warm_start=True)) against the stale model and a
full retrain, on synthetic data with catalogue turnover.

Data: gru4rec_fast.data.synthetic.turnover_periods (days 0-20 / 20-25 / 25-30 of a
40k-event log; 160 of 800 items get new ids after day 20). Models:
  stale     trained on period 1 (5 epochs)
  warm-E    the stale model continued on period 2 for E epochs
  retrain   a fresh model trained on periods 1+2 (5 epochs)
Evaluated on period 3: recall@20 / MRR@20 on the events of items the stale model knows
(the same events for every model), and recall@20 on the transitions into new items
(synthetic.transitions_into; the stale model cannot rank them). Also the training time
of each model (1 thread).

    python benches/warm_start.py [--seeds 0 1 2] [--epochs 1 2 5] [--out DIR]
"""
import argparse
import pathlib
import platform
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from gru4rec_fast import GRU4Rec, evaluate  # noqa: E402
from gru4rec_fast.data import synthetic  # noqa: E402

PARAMS = dict(layers=[64], batch_size=32, n_sample=256, n_epochs=5, loss="bpr-max",
              final_act="elu-0.5", constrained_embedding=True, momentum=0.1)
STORE = 50_000


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_seed(seed, epochs):
    p1, p2, p3, new = synthetic.turnover_periods(seed=seed)
    stale, t_stale = _timed(lambda: GRU4Rec(seed=seed, **PARAMS).fit(p1, sample_store_size=STORE,
                                                                      verbose=False))
    common = p3[np.isin(p3.ItemId, stale.item_index.ids)]
    pairs = synthetic.transitions_into(p3, new)
    models = {"stale": (stale, t_stale)}
    for e in epochs:
        def cont(e=e):
            m = GRU4Rec(seed=seed, **PARAMS).fit(p1, sample_store_size=STORE, verbose=False)
            m.set_params(n_epochs=e)
            t0 = time.perf_counter()
            m.fit(p2, warm_start=True, sample_store_size=STORE, verbose=False)
            return m, time.perf_counter() - t0
        models[f"warm-{e}"] = cont()
    models["retrain"] = _timed(lambda: GRU4Rec(seed=seed, **PARAMS).fit(
        pd.concat([p1, p2], ignore_index=True), sample_store_size=STORE, verbose=False))
    rows = []
    for name, (m, t) in models.items():
        r = evaluate(m, common, cutoffs=(20,))
        r_new = evaluate(m, pairs, cutoffs=(20,)) if name != "stale" else None
        rows.append(dict(seed=seed, model=name, recall_old=r["recall"][20], mrr_old=r["mrr"][20],
                         n_old=r["n_events"],
                         recall_new=np.nan if r_new is None else r_new["recall"][20],
                         n_new=0 if r_new is None else r_new["n_events"], train_s=t))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--out", default=None, help="write the table as markdown here")
    args = ap.parse_args()
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(1)
    df = pd.DataFrame([r for s in args.seeds for r in run_seed(s, args.epochs)])
    per_seed = df.pivot(index="seed", columns="model", values="recall_old")
    order = list(dict.fromkeys(df.model))
    lines = [f"# Continued training with new items ({platform.node()}, {platform.processor() or 'cpu'}, "
             f"1 thread, torch {torch.__version__})", "",
             f"`python benches/warm_start.py --seeds {' '.join(map(str, args.seeds))} --epochs "
             f"{' '.join(map(str, args.epochs))}`", "",
             "min / median / max over seeds; recall_old and mrr_old on period 3's events of items "
             "the stale model knows, recall_new on transitions into the new items; "
             "delta_old = recall_old - stale's on the same seed.", "",
             "| model | recall@20 old | delta old vs stale | MRR@20 old | recall@20 new | train s |",
             "|---|---|---|---|---|---|"]

    def mmm(x, fmt="{:.4f}"):
        x = np.asarray(x, dtype=float)
        if np.isnan(x).all():
            return "-"
        return " / ".join(fmt.format(v) for v in (np.nanmin(x), np.nanmedian(x), np.nanmax(x)))

    for name in order:
        d = df[df.model == name].set_index("seed")
        delta = d.recall_old - per_seed["stale"]
        lines.append(f"| {name} | {mmm(d.recall_old)} | {mmm(delta, '{:+.4f}')} | {mmm(d.mrr_old)} | "
                     f"{mmm(d.recall_new)} | {mmm(d.train_s, '{:.2f}')} |")
    lines += ["", "Per run:", "", df.to_markdown(index=False, floatfmt=".4f")
              if _has_tabulate() else df.to_string(index=False)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"cpu_warm_start_{time.strftime('%Y-%m-%d')}.md"
        path.write_text(text)
        print(f"wrote {path}")


def _has_tabulate():
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
