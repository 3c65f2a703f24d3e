"""The negative-sample block draw's search (issue #15): ``cdf_search`` over a block of
float64 uniforms, as SampleStore draws it (torch.rand, then the guide-table search), in
ns per id, at a given catalogue size. Run it once per build to compare (the uniforms'
generation is timed apart: it is torch's and unchanged).

    python benches/cdf_search_block.py --items 50000 [--draws 10000000] [--repeats 5]
    python benches/cdf_search_block.py --ab /work/main --items 50000 1000000 5000000 --rounds 5

Prints one line per repeat: "<items> search_ns_per_id <x> rand_ns_per_id <y>". With
--ab OTHER_CHECKOUT it runs itself in subprocesses, alternating that checkout and this
one (interleaved, so that drift on a shared machine hits both alike), and prints
min/median/max over the rounds of each run's median.
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def ab(args):
    runs = {}
    for items in args.items:
        for _ in range(args.rounds):
            for name, tree in (("other", args.ab), ("this", str(ROOT))):
                env = dict(os.environ, PYTHONPATH=tree)
                out = subprocess.run(
                    [sys.executable, __file__, "--items", str(items), "--draws", str(args.draws),
                     "--repeats", str(args.repeats), "--threads", str(args.threads)],
                    env=env, cwd=tree, capture_output=True, text=True, check=True).stdout
                vals = [float(line.split()[2]) for line in out.splitlines() if "search_ns" in line]
                runs.setdefault((items, name), []).append(statistics.median(vals))
    print(f"| items | {args.ab} ns/id (min/med/max) | this checkout ns/id (min/med/max) | "
          "ratio of medians |")
    print("|---|---|---|---|")
    fmt = lambda v: f"{min(v):.1f} / {statistics.median(v):.1f} / {max(v):.1f}"  # noqa: E731
    for items in args.items:
        a, b = runs[(items, "other")], runs[(items, "this")]
        print(f"| {items:,} | {fmt(a)} | {fmt(b)} | "
              f"{statistics.median(a) / statistics.median(b):.2f}x |")

import torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[50_000])
    ap.add_argument("--draws", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ab", help="another checkout to compare with (interleaved subprocesses)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    if args.ab:
        return ab(args)
    torch.set_num_threads(args.threads)
    from gru4rec_fast.data.sample_store import sampling_cdf, uniform_to_ids
    (n,) = args.items
    # popularity-like supports (Zipf), sampled with alpha 0.75 as the RSC15 setup
    supp = (1e6 / torch.arange(1, n + 1, dtype=torch.float64)).round().numpy() + 1
    cdf = sampling_cdf(supp, 0.75)
    gen = torch.Generator().manual_seed(0)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        u = torch.rand(args.draws, generator=gen, dtype=torch.float64)
        t1 = time.perf_counter()
        ids = uniform_to_ids(cdf, u)
        t2 = time.perf_counter()
        assert ids.numel() == args.draws
        print(f"{n} search_ns_per_id {(t2 - t1) / args.draws * 1e9:.2f} "
              f"rand_ns_per_id {(t1 - t0) / args.draws * 1e9:.2f}", flush=True)


if __name__ == "__main__":
    main()
