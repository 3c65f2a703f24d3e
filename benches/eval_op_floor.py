"""eval_rank_counts alone against its GEMM floor: events/s of the op (512 rows x n items,
d = 100, elu-0.5, random data) and of a bare loop of the same products (``torch.mm`` over
8192-item chunks, nothing else), in one process. Run it from two checkouts in turn to
compare builds (benches/results/cpu_eval_2026-11-29.md).

    python benches/eval_op_floor.py [--threads N] [--items 50000 1000000] [--reps 3]
"""
import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def events_per_second(fn, rows, reps):
    fn()  # warm-up
    secs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t0)
    return sorted(rows / s for s in secs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--items", type=int, nargs="+", default=[50_000, 1_000_000])
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    import torch
    from gru4rec_fast.ops import eval_rank_counts
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    B, d = args.rows, 100
    for n in args.items:
        H = torch.randn(B, d, generator=g)
        W = torch.randn(n, d, generator=g) / 10
        b = torch.randn(n, generator=g) * 0.1
        t = torch.randint(0, n, (B,), generator=g)
        out = torch.empty(B, 8192)

        def gemm_loop():
            for c in range(0, n, 8192):
                m = min(8192, n - c)
                torch.mm(H, W[c:c + m].t(), out=out[:, :m])

        op = events_per_second(lambda: eval_rank_counts(H, W, b, t, final_act="elu-0.5"), B, args.reps)
        floor = events_per_second(gemm_loop, B, args.reps)
        fmt = lambda v: " / ".join(f"{x:,.0f}" for x in (v[0], v[len(v) // 2], v[-1]))
        print(f"{n:,} items, {args.threads} threads: op {fmt(op)} events/s (min/med/max), "
              f"GEMM loop {fmt(floor)}", flush=True)


if __name__ == "__main__":
    main()
