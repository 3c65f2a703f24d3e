"""The item tables' random row traffic on transparent huge pages vs ordinary 4 KiB pages
(gru4rec_fast/model/huge_pages.py), in one process, interleaved.

    python benches/item_table_pages.py [--items 50000 1000000 5000000] [--dim 100]
                                       [--batch 32] [--samples 2048] [--threads 1]
                                       [--repeats 7] [--steps 200]

Per catalogue size, two sets of tables (W_y n x d, b_y n, and their adagrad state) are
allocated the way the model allocates them: one with huge pages, one under
GRU4REC_FAST_HUGE_PAGES=0. Each step draws popularity-skewed ids (as the sampled
negatives are) and times, on each set:
  gather   W.index_select(0, Y) and b.index_select(0, Y)   (ATen's gather)
  scores   the sampled_scores_forward op: the C++ loop's prefetched row gather and the
           B x N product (the product's cost does not depend on the pages)
  update   the loop's one-pass row-sparse update of W_y and b_y (adagrad)
The two sets are first checked to give bit-identical results. Times are thread CPU time
(time.thread_time) per step, min / median / max over the repeats (sets alternating
A, B, A, B, ...). The share of the huge set's mappings actually backed by huge
pages (AnonHugePages in /proc/self/smaps) is printed: it depends on the kernel's THP setting
and on free contiguous memory, not on this code.
"""
import argparse
import os
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import machine_name  # noqa: E402

from gru4rec_fast import _ext  # noqa: E402
from gru4rec_fast.model import huge_pages  # noqa: E402
from gru4rec_fast.ops.enums import parse_optimizer, resolve_adapt_params  # noqa: E402

SWITCH = "GRU4REC_FAST_HUGE_PAGES"


def tables(n, d, huge, seed):
    """W, b, and the (s1, s2, velocity, steps) adagrad states of each, allocated as the
    model allocates them, with (or, huge=False, without) huge pages."""
    before = os.environ.get(SWITCH)
    os.environ[SWITCH] = "1" if huge else "0"
    try:
        g = torch.Generator().manual_seed(seed)
        W = huge_pages.item_table(torch.randn(n, d, generator=g).mul_(0.01))
        b = huge_pages.zeros((n,), torch.float32)
        none = torch.empty(0)
        sW = [huge_pages.zeros((n, d), torch.float32), none, none, none]
        sb = [huge_pages.zeros((n, 1), torch.float32), none, none, none]
    finally:
        if before is None:
            del os.environ[SWITCH]
        else:
            os.environ[SWITCH] = before
    return W, b, sW, sb


def backed_share(tensors):
    """AnonHugePages / size, summed over the mappings that hold ``tensors``."""
    starts = [t.data_ptr() for t in tensors]
    huge = size = 0
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and all(c in "0123456789abcdef-" for c in head):
                a, z = (int(x, 16) for x in head.split("-"))
                inside = any(a <= s < z for s in starts)
                size += (z - a) if inside else 0
            elif inside and head == "AnonHugePages:":
                huge += int(line.split()[1]) * 1024
    return huge / max(size, 1)


def one_step(ops, C, tabs, H, X, Y, gW, gb, opt, p1, p2, times):
    W, b, sW, sb = tabs
    n = b.shape[0]
    t0 = time.thread_time()
    W.index_select(0, Y)
    b.index_select(0, Y)
    t1 = time.thread_time()
    ops.sampled_scores_forward(H, W, b, Y)
    t2 = time.thread_time()
    C._sparse_row_update_with_bias_cpu_(W, gW, sW, b.view(n, 1), gb, sb, X, Y, opt, 0.05,
                                        0.0, 0.0, 1e-6, p1, p2)
    t3 = time.thread_time()
    times["gather"] += t1 - t0
    times["scores"] += t2 - t1
    times["update"] += t3 - t2


def bench_size(n, args, ops, C):
    d, B, N = args.dim, args.batch, args.batch + args.samples
    g = torch.Generator().manual_seed(1)
    pop = torch.arange(1, n + 1, dtype=torch.float).pow(-0.8)[torch.randperm(n, generator=g)]
    steps = [(torch.randn(B, d, generator=g), torch.randint(0, n, (B,), generator=g),
              torch.multinomial(pop, N, replacement=True, generator=g),
              torch.randn(B + N, d, generator=g) * 0.01, torch.randn(N, generator=g) * 0.01)
             for _ in range(64)]
    opt = parse_optimizer("adagrad")
    p1, p2 = resolve_adapt_params("adagrad", None)
    sets = {"huge": tables(n, d, True, seed=0), "4 KiB": tables(n, d, False, seed=0)}
    aligned = sets["huge"][0].data_ptr() % (2 << 20) == 0
    share = backed_share([sets["huge"][0], sets["huge"][2][0]])
    share_plain = backed_share([sets["4 KiB"][0], sets["4 KiB"][2][0]])
    dummy = {"gather": 0.0, "scores": 0.0, "update": 0.0}
    for H, X, Y, gW, gb in steps[:8]:                     # check first: the same bits
        for tabs in sets.values():
            one_step(ops, C, tabs, H, X, Y, gW, gb, opt, p1, p2, dummy)
    a, z = sets["huge"], sets["4 KiB"]
    if not (torch.equal(a[0], z[0]) and torch.equal(a[1], z[1]) and torch.equal(a[2][0], z[2][0])
            and torch.equal(a[3][0], z[3][0])):
        sys.exit("item_table_pages: the huge-page tables differ from the ordinary ones")
    res = {k: {p: [] for p in ("gather", "scores", "update", "total")} for k in sets}
    for _ in range(args.repeats):                          # interleaved: A, B, A, B, ...
        for k, tabs in sets.items():
            times = {"gather": 0.0, "scores": 0.0, "update": 0.0}
            for i in range(args.steps):
                one_step(ops, C, tabs, *steps[i % len(steps)], opt, p1, p2, times)
            for p, v in times.items():
                res[k][p].append(v / args.steps * 1e6)
            res[k]["total"].append(sum(times.values()) / args.steps * 1e6)
    print(f"\n{n} x {d} items (W_y + adagrad state {2 * n * d * 4 / 2**20:.0f} MiB), {B} + {N} ids, "
          f"bit-identical: yes; huge set 2 MiB-aligned: {'yes' if aligned else 'NO'}, "
          f"their mappings backed by huge pages: {share:.0%} (4 KiB set: {share_plain:.0%})")
    print("  us/step, min / median / max   " + "   ".join(f"{p:>20s}" for p in res["huge"]))
    for k, r in res.items():
        cells = []
        for v in r.values():
            v = sorted(v)
            cells.append(f"{v[0]:6.0f} /{statistics.median(v):6.0f} /{v[-1]:6.0f}")
        print(f"  {k:30s}" + "   ".join(f"{c:>20s}" for c in cells))
    cells = []
    for p in res["huge"]:
        ratio = sorted(x / y for x, y in zip(res["4 KiB"][p], res["huge"][p]))
        cells.append(f"{ratio[0]:6.2f} /{statistics.median(ratio):6.2f} /{ratio[-1]:6.2f}")
    print(f"  {'4 KiB / huge, per repeat':30s}" + "   ".join(f"{c:>20s}" for c in cells))
    del sets


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[50_000, 1_000_000, 5_000_000])
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=200, help="steps per repeat")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"item tables on huge pages vs 4 KiB pages, {machine_name('cpu')}, THP "
          f"{open('/sys/kernel/mm/transparent_hugepage/enabled').read().strip()}")
    for n in args.items:
        bench_size(n, args, _ext.ops(), _ext.ext())


if __name__ == "__main__":
    main()
