"""Where evaluate()'s time goes: cProfile (Python level: the ranking op, the forward, the
loop) and torch.profiler (operator level) of one evaluate() call on benches/eval.py's
setup (fresh weights, layers 100, batch 512, all items ranked). Prints the schedule's
shape (full steps, the shrinking tail) and both tables
(benches/results/cpu_eval_e2e_2026-11-29.md).

    python benches/profile_eval.py [--items 50000] [--events 20000] [--threads 0]
"""
import argparse
import cProfile
import io
import pathlib
import pstats
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0, help="0: the library's default")
    args = ap.parse_args(argv)
    import numpy as np
    import torch
    from torch.profiler import ProfilerActivity, profile

    import eval as eval_bench
    from gru4rec_fast import GRU4Rec, cpu_threads, evaluate
    from gru4rec_fast.data import ItemIndex, synthetic
    from gru4rec_fast.model import network
    if args.threads:
        cpu_threads.apply_default(args.threads)
    n = args.items
    model = GRU4Rec(backend="fused", device="cpu", seed=0, **eval_bench.HYPER)
    model.item_index = ItemIndex(np.arange(n))
    model.weights = network.init_weights(model.hyper, n, seed=0, device="cpu")
    test = synthetic.generate(args.events, min(n, 40_000), seed=0)
    spread = np.sort(np.random.default_rng(0).choice(n, test.ItemId.max() + 1, replace=False))
    test["ItemId"] = spread[test.ItemId.to_numpy()]
    evaluate(model, test.iloc[:2000], batch_size=args.batch_size)  # warm-up
    ds = model._as_dataset(test, "SessionId", "ItemId", "Time", item_index=model.item_index)
    rows = np.diff(ds.schedule(args.batch_size, min_slots=1).step_offsets)
    tail = rows < args.batch_size
    print(f"{torch.get_num_threads()} threads; {len(rows)} steps, {int((~tail).sum())} full, "
          f"{int(rows[tail].sum())} rows in {int(tail.sum())} tail steps "
          f"({int((rows < 64).sum())} under 64 rows)")
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    r = evaluate(model, ds, cutoffs=(1, 5, 10, 20), batch_size=args.batch_size)
    prof.disable()
    dt = time.perf_counter() - t0
    print(f"{r['n_events'] / dt:,.0f} events/s ({r['n_events']} ranked, {dt:.2f} s)")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    print(out.getvalue())
    with profile(activities=[ProfilerActivity.CPU]) as p:
        evaluate(model, ds, cutoffs=(1, 5, 10, 20), batch_size=args.batch_size)
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
