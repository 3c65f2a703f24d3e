"""Evaluation throughput (docs/algorithm.md, Evaluation: recall@N / MRR@N, all items): ranked test
events per second, fused backend (tiled eval_rank_counts, no batch x n_items score
matrix) against the reference backend (full score matrix in PyTorch), side by side.

A model with freshly initialised weights for ``n_items`` items (speed does not depend
on training) ranks synthetic test sessions whose items are spread over the catalogue.
Each (n_items, backend) pair runs in a fresh subprocess, so its peak RSS is its own.

    python benches/eval.py [--device cpu|cuda] [--threads N] [--items 50000 1000000]
                           [--events N] [--backends fused reference] [--out FILE]

--threads 0 (the default) leaves the thread count to the library
(gru4rec_fast.cpu_threads, docs/threads.md), as a user's evaluate() call would.
benches/ab_eval.py runs the fused rows of two checkouts alternately.
"""
import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

HYPER = dict(layers=[100], loss="bpr-max", final_act="elu-0.5", constrained_embedding=True)


def measure(n_items, backend, device, threads, events, batch_size, seed=0, mode="standard",
            weight_scale=1.0):
    import numpy as np
    import torch

    from gru4rec_fast import GRU4Rec, evaluate
    from gru4rec_fast.data import ItemIndex, synthetic
    from gru4rec_fast.model import network

    from gru4rec_fast import cpu_threads
    if threads:     # an explicit choice, which evaluate()'s default then leaves alone
        cpu_threads.apply_default(threads)
    model = GRU4Rec(backend=backend, device=device, seed=seed, **HYPER)
    model.item_index = ItemIndex(np.arange(n_items))
    model.weights = network.init_weights(model.hyper, n_items, seed=seed, device=device)
    if weight_scale != 1.0:
        # Freshly initialised item weights give scores of ~1e-5 at 1M items, where
        # float32 elu(x) = a (exp(x) - 1) moves in steps of ~6e-8: ~0.1% of the items tie
        # with each target and the ranking op rescans many tiles for them; a trained
        # model's scores are far larger. Scaling W_y models that.
        model.weights["Wy"].mul_(weight_scale)
    test = synthetic.generate(events, min(n_items, 40_000), seed=seed)
    rng = np.random.default_rng(seed)
    spread = np.sort(rng.choice(n_items, test.ItemId.max() + 1, replace=False))
    test["ItemId"] = spread[test.ItemId.to_numpy()]
    evaluate(model, test.iloc[:2000], batch_size=batch_size)       # warm-up
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    r = evaluate(model, test, cutoffs=(1, 5, 10, 20), batch_size=batch_size, mode=mode)
    sync()
    dt = time.perf_counter() - t0
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return dict(eps=r["n_events"] / dt, n_events=r["n_events"], seconds=dt, rss_gb=rss_gb,
                threads=torch.get_num_threads())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads; 0: the library's default (docs/threads.md)")
    ap.add_argument("--items", type=int, nargs="+", default=[50_000, 1_000_000])
    ap.add_argument("--events", type=int, default=20_000, help="test events per run")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--mode", default="standard",
                    choices=["standard", "conservative", "median", "tiebreaking"],
                    help="evaluate()'s tie mode (tiebreaking adds noise)")
    ap.add_argument("--weight-scale", type=float, default=1.0,
                    help="multiply the initialised W_y (score scale; see measure())")
    ap.add_argument("--backends", nargs="+", default=["fused", "reference"],
                    choices=["fused", "reference"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return
    import torch
    from timing import format_table, machine_name
    rows, done = [], []
    for n in args.items:
        res = {}
        done.append(res)
        for backend in ("fused", "reference"):
            if backend not in args.backends:
                res[backend] = None
                continue
            spec = json.dumps(dict(n_items=n, backend=backend, device=args.device,
                                   threads=args.threads, events=args.events,
                                   batch_size=args.batch_size, mode=args.mode,
                                   weight_scale=args.weight_scale))
            p = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True,
                               text=True)
            if p.returncode != 0:
                print(f"{n} [{backend}] FAILED: {(p.stderr or p.stdout).strip().splitlines()[-1:]}")
                res[backend] = None
                continue
            res[backend] = json.loads(p.stdout.strip().splitlines()[-1])
            print(f"{n:,} items [{backend}]: {res[backend]['eps']:,.0f} events/s "
                  f"({res[backend]['n_events']} events, {res[backend]['threads']} threads), "
                  f"peak RSS {res[backend]['rss_gb']:.2f} GB",
                  flush=True)
        f, r = res["fused"], res["reference"]
        missing = {k: "failed" if k in args.backends else "not run" for k in res}
        rows.append([f"{n:,}", f"{f['eps']:,.0f}" if f else missing["fused"],
                     f"{r['eps']:,.0f}" if r else missing["reference"],
                     f"{f['eps'] / r['eps']:.2f}x" if f and r else "-",
                     f"{f['rss_gb']:.2f}" if f else "-", f"{r['rss_gb']:.2f}" if r else "-"])
    used = sorted({r["threads"] for res in done for r in res.values() if r})
    text = (f"### Evaluation throughput ({machine_name(args.device)}; layers 100, batch "
            f"{args.batch_size}, {'/'.join(map(str, used))} threads, mode {args.mode}, all items ranked, "
            f"cutoffs 1/5/10/20)\n\n"
            + format_table(rows, ["items", "fused events/s", "reference events/s", "speed-up",
                                  "fused peak RSS GB", "reference peak RSS GB"]))
    print("\n" + text)
    if args.out:
        cmd = "python benches/eval.py " + " ".join(argv if argv is not None else sys.argv[1:])
        pathlib.Path(args.out).write_text(f"`{cmd}`\n\n{text}\n")


if __name__ == "__main__":
    main()
