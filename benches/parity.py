"""Accuracy parity of the fused and the reference training backends.

Trains GRU4Rec with each backend on the same synthetic data (the `small` preset,
200k events) and hyperparameters, for several seeds, evaluates Recall@20 and MRR@20, and
prints the per-seed figures, the means and the relative difference of the means (the
end-to-end issue asks for at most 2%). Two setups: bpr-max / elu-0.5 and cross-entropy /
softmax with logq=1 (both shared embedding, 2048 samples).

    python benches/parity.py [--seeds 1 2 3] [--epochs 3] [--threads 1] [--out FILE]
"""
import argparse
import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import format_table, machine_name  # noqa: E402

from gru4rec_fast.data import synthetic  # noqa: E402
from gru4rec_fast.model import GRU4Rec, evaluate  # noqa: E402

SETUPS = {
    "bpr-max/elu-0.5": dict(loss="bpr-max", final_act="elu-0.5", bpreg=1.0),
    "cross-entropy/softmax+logq": dict(loss="cross-entropy", final_act="softmax", logq=1.0),
}
COMMON = dict(layers=[100], batch_size=32, n_sample=2048, sample_alpha=0.5,
              constrained_embedding=True, learning_rate=0.05, momentum=0.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    train, test = synthetic.preset(args.preset, seed=0)
    rows, summary = [], []
    for name, setup in SETUPS.items():
        res = {"fused": [], "reference": []}
        for seed in args.seeds:
            for backend in ("fused", "reference"):
                model = GRU4Rec(backend=backend, seed=seed, n_epochs=args.epochs, **COMMON, **setup)
                t0 = time.time()
                model.fit(train, verbose=False)
                fit_s = time.time() - t0
                r = evaluate(model, test, cutoffs=(20,))
                res[backend].append((r["recall"][20], r["mrr"][20]))
                rows.append([name, seed, backend, f"{r['recall'][20]:.4f}", f"{r['mrr'][20]:.4f}",
                             f"{fit_s:.0f}"])
                print(" | ".join(str(c) for c in rows[-1]), flush=True)
        mean = {b: [sum(v[i] for v in vals) / len(vals) for i in (0, 1)] for b, vals in res.items()}
        rel = [abs(mean["fused"][i] - mean["reference"][i]) / mean["reference"][i] for i in (0, 1)]
        summary.append([name, f"{mean['fused'][0]:.4f}", f"{mean['reference'][0]:.4f}",
                        f"{100 * rel[0]:.2f}%", f"{mean['fused'][1]:.4f}",
                        f"{mean['reference'][1]:.4f}", f"{100 * rel[1]:.2f}%"])
    text = (f"### Backend parity: preset {args.preset!r} ({len(train)} train / {len(test)} test "
            f"events), {args.epochs} epochs, seeds {args.seeds}, {machine_name('cpu')}\n\n"
            + format_table(rows, ["setup", "seed", "backend", "Recall@20", "MRR@20", "fit (s)"])
            + "\n\nMeans over seeds:\n\n"
            + format_table(summary, ["setup", "R@20 fused", "R@20 ref", "rel. diff",
                                     "MRR@20 fused", "MRR@20 ref", "rel. diff"]) + "\n")
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
