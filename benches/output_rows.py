"""The training loop's output-layer row update on the CPU: W_y (n x d) at cat(X, Y) and
b_y at Y as two sparse_row_update_ calls (each sorting the ids) against the loop's
one-pass helper (one sort, one walk over the runs), in one process, interleaved, with the
results checked equal to the bit first.

    python benches/output_rows.py [--items 50000] [--dim 100] [--batch 32] [--samples 2048]
                                  [--optimizer adagrad] [--threads 1] [--repeats 7]

Beside them, a traffic floor: the same rows' memory traffic with the least arithmetic,
ATen's index_add_ of one gradient row per distinct id into W_y and into its optimiser
state (read each row and its gradient, write it back; no sort, no optimiser math, no
bias), so that the one-pass update's distance from what its cold rows cost is measured.

Each step draws fresh popularity-skewed ids (as the sampled negatives are) and gathers
W[Y] first, as the scores phase does, so the rows arrive as warm or cold as in training.
Times are thread CPU time (time.thread_time: less disturbed by a loaded machine than
wall time), per step, min / median / max over the repeats.
"""
import argparse
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
from gru4rec_fast.ops.enums import resolve_adapt_params  # noqa: E402
from gru4rec_fast.ops.sparse_row_update import SparseRowState  # noqa: E402


def tables(n, d, optimizer, seed):
    """W_y, b_y and their optimiser state, allocated as the model allocates them (on
    transparent huge pages where possible: gru4rec_fast/model/huge_pages.py)."""
    g = torch.Generator().manual_seed(seed)
    W = huge_pages.item_table(torch.randn(n, d, generator=g) * 0.01)
    b = huge_pages.zeros((n,), torch.float32)
    states = []
    for t in (W, b):
        st = SparseRowState(t, optimizer)
        for name in ("state1", "state2", "velocity"):
            if getattr(st, name).numel():
                setattr(st, name, huge_pages.zeros(tuple(t.shape), t.dtype))
        states.append(st)
    return (W, b, *states)


def two_calls(W, b, sw, sb, X, Y, gW, gb, p1, p2):
    ops = _ext.ops()
    ops.sparse_row_update_(W, torch.cat([X, Y]), gW, *sw.tensors(),
                           sw.optimizer, 0.1, 0.0, 0.0, 1e-6, p1, p2, True)
    n = b.shape[0]
    s1, s2, vel, steps = sb.as_2d(n)
    ops.sparse_row_update_(b.view(n, 1), Y, gb.view(-1, 1), s1, s2, vel, steps, sb.optimizer,
                           0.1, 0.0, 0.0, 1e-6, p1, p2, True)


def one_pass(W, b, sw, sb, X, Y, gW, gb, p1, p2):
    n = b.shape[0]
    _ext.ext()._sparse_row_update_with_bias_cpu_(W, gW, list(sw.tensors()), b.view(n, 1), gb,
                                                 list(sb.as_2d(n)), X, Y, sw.optimizer, 0.1,
                                                 0.0, 0.0, 1e-6, p1, p2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--optimizer", default="adagrad")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=256, help="steps per repeat")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, d, B, N = args.items, args.dim, args.batch, args.batch + args.samples
    g = torch.Generator().manual_seed(1)
    pop = torch.arange(1, n + 1, dtype=torch.float).pow(-0.8)[torch.randperm(n, generator=g)]
    steps = [(torch.randint(0, n, (B,), generator=g),
              torch.multinomial(pop, N, replacement=True, generator=g),
              torch.randn(B + N, d, generator=g), torch.randn(N, generator=g)) for _ in range(64)]
    p1, p2 = resolve_adapt_params(SparseRowState(torch.zeros(1), args.optimizer).optimizer, None)
    ways = {"two calls": two_calls, "one pass": one_pass}
    state = {k: tables(n, d, args.optimizer, seed=0) for k in ways}
    for X, Y, gW, gb in steps[:8]:                     # check first: the same bits
        for k, f in ways.items():
            f(*state[k], X, Y, gW, gb, p1, p2)
    a, b2 = state["two calls"], state["one pass"]
    same = all(torch.equal(x, y) for x, y in zip(a[:2], b2[:2])) and all(
        torch.equal(x, y) for s, t in ((a[2], b2[2]), (a[3], b2[3]))
        for x, y in zip(s.tensors(), t.tensors()))
    if not same:
        sys.exit("output_rows: the one-pass update differs from the two calls")
    distinct = [torch.unique(torch.cat([X, Y])) for X, Y, _, _ in steps]
    distinct_grads = [torch.randn(len(u), d, generator=g) for u in distinct]
    floor_tables = tables(n, d, args.optimizer, seed=0)

    def traffic_floor(W, b, sw, sb, X, Y, gW, gb, p1, p2, i):
        W.index_add_(0, distinct[i], distinct_grads[i])
        sw.tensors()[0].index_add_(0, distinct[i], distinct_grads[i])

    ways["traffic floor"] = traffic_floor
    state["traffic floor"] = floor_tables
    times = {k: [] for k in ways}
    for _ in range(args.repeats):                      # interleaved: A, B, A, B, ...
        for k, f in ways.items():
            W = state[k][0]
            total = 0.0
            for i in range(args.steps):
                X, Y, gW, gb = steps[i % len(steps)]
                W.index_select(0, Y)                   # the scores phase's gather
                extra = (i % len(steps),) if k == "traffic floor" else ()
                t = time.thread_time()
                f(*state[k], X, Y, gW, gb, p1, p2, *extra)
                total += time.thread_time() - t
            times[k].append(total / args.steps * 1e6)
    print(f"output-layer row update, {machine_name('cpu')}, {n} x {d} "
          f"{args.optimizer}, {B} + {N} ids ({statistics.median(len(u) for u in distinct):.0f} "
          f"distinct, median), bit-identical: yes")
    for k, v in times.items():
        v = sorted(v)
        print(f"  {k:9s}: {v[0]:.0f} / {statistics.median(v):.0f} / {v[-1]:.0f} us/step (min / median / max)")
    ratio = [x / y for x, y in zip(times["two calls"], times["one pass"])]
    print(f"  two calls / one pass per repeat: {min(ratio):.2f} / {statistics.median(ratio):.2f} / {max(ratio):.2f}")
    ratio = [x / y for x, y in zip(times["one pass"], times["traffic floor"])]
    print(f"  one pass / traffic floor per repeat: {min(ratio):.2f} / {statistics.median(ratio):.2f} / {max(ratio):.2f}")


if __name__ == "__main__":
    main()
