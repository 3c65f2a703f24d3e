"""Data-layer benchmark: a 10M-event synthetic log written to TSV once, then timed:
loading (read + validate + SessionDataset) and building the epoch schedule.

    python benches/data.py [--events 10000000] [--items 40000] [--batch 32 256]
"""
import argparse
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout

from gru4rec_fast.data import SessionDataset, build_schedule, synthetic
from gru4rec_fast.data.preprocess import write_tsv


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--items", type=int, default=40_000)
    ap.add_argument("--batch", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--dir", default=None, help="where to write the TSV (default: a temp dir)")
    args = ap.parse_args()
    folder = args.dir or tempfile.mkdtemp(prefix="g4r_bench_")
    path = os.path.join(folder, f"synthetic_{args.events}.tsv")
    t = time.perf_counter()
    df = synthetic.generate(args.events, args.items, seed=0)
    t_gen = time.perf_counter() - t
    if not os.path.exists(path):
        write_tsv(df, path)
    del df
    print(f"generate {args.events:,} events: {t_gen:.2f} s  (file {path})")
    t = time.perf_counter()
    data = SessionDataset.from_events(path)
    t_load = time.perf_counter() - t
    print(f"load + validate + sessions: {t_load:.2f} s  ({data.n_events:,} events, "
          f"{data.n_sessions:,} sessions, {data.n_items:,} items)")
    for b in args.batch:
        t = time.perf_counter()
        sched = build_schedule(data.offsets, b, items=data.items, min_slots=2)
        t_s = time.perf_counter() - t
        print(f"schedule batch {b}: {t_s:.2f} s  ({sched.n_steps:,} steps)  "
              f"load+schedule {t_load + t_s:.2f} s")


if __name__ == "__main__":
    main()
