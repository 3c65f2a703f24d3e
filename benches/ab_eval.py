"""End-to-end evaluate() of two checkouts side by side: each checkout's own
benches/eval.py measures the fused backend in a fresh process (``--child``), the two
alternating (A B, B A, A B, ...) so that the load of a shared machine drifts over both
alike. Prints events/s per process and min / median / max per checkout, the ratio of the
medians, and the load average around each run.

    python benches/ab_eval.py --a /path/to/old/checkout --b . [--items 50000 1000000]
                              [--events 20000 8000] [--pairs 3] [--threads 1]

Each checkout needs its compiled extension; both run with the same thread count
(default: the library's default here, gru4rec_fast.cpu_threads).
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(checkout, n_items, events, threads, batch_size):
    spec = json.dumps(dict(n_items=n_items, backend="fused", device="cpu", threads=threads,
                           events=events, batch_size=batch_size))
    env = dict(os.environ, PYTHONPATH=str(checkout))
    p = subprocess.run([sys.executable, str(pathlib.Path(checkout) / "benches" / "eval.py"),
                        "--child", spec], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{checkout} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None):
    from gru4rec_fast import cpu_threads
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="checkout A (the baseline)")
    ap.add_argument("--b", required=True, help="checkout B (the change)")
    ap.add_argument("--items", type=int, nargs="+", default=[50_000, 1_000_000])
    ap.add_argument("--events", type=int, nargs="+", default=[20_000, 8_000],
                    help="test events per run, one per --items entry")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=cpu_threads.default_threads())
    ap.add_argument("--batch-size", type=int, default=512)
    args = ap.parse_args(argv)
    if len(args.events) != len(args.items):
        ap.error("give one --events value per --items value")
    for n, events in zip(args.items, args.events):
        eps = {"A": [], "B": []}
        loads = []
        for r in range(args.pairs):
            for side in (("A", "B") if r % 2 == 0 else ("B", "A")):
                loads.append(os.getloadavg()[0])
                res = one_run(getattr(args, side.lower()), n, events, args.threads,
                              args.batch_size)
                eps[side].append(res["eps"])
                print(f"{n:,} items, pair {r + 1} {side}: {res['eps']:,.1f} events/s "
                      f"({res['n_events']} ranked, {res.get('threads', args.threads)} threads, "
                      f"load {loads[-1]:.2f})", flush=True)
        st = {k: (min(v), statistics.median(v), max(v)) for k, v in eps.items()}
        fmt = lambda s: f"{s[0]:,.0f} / {s[1]:,.0f} / {s[2]:,.0f}"  # noqa: E731
        print(f"| {n:,} | {events:,} | {fmt(st['A'])} | {fmt(st['B'])} | "
              f"{st['B'][1] / st['A'][1]:.3f} | {min(loads):.1f}-{max(loads):.1f} |", flush=True)


if __name__ == "__main__":
    main()
