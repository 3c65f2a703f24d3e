"""The per-step cost of evaluate() outside the ranking work: a small catalogue (3,000
items, d = 100) and small batches make the ranking cheap, so the time per step is mostly
the loop's Python and ATen calls (forward, ranking call, rank accumulation). Prints
microseconds per step, min / median / max over repeats, for the checkout it lives in;
run it from two checkouts alternately to compare them.

    python benches/eval_step_overhead.py [--batch-size 16] [--events 20000] [--repeats 5]
"""
import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    import numpy as np
    import torch

    from gru4rec_fast import GRU4Rec, evaluate
    from gru4rec_fast.data import ItemIndex, synthetic
    from gru4rec_fast.model import network
    torch.set_num_threads(1)
    hyper = dict(layers=[100], loss="bpr-max", final_act="elu-0.5", constrained_embedding=True)
    model = GRU4Rec(backend="fused", device="cpu", seed=0, **hyper)
    model.item_index = ItemIndex(np.arange(args.items))
    model.weights = network.init_weights(model.hyper, args.items, seed=0, device="cpu")
    test = synthetic.generate(args.events, args.items, seed=0)
    ds = model._as_dataset(test, "SessionId", "ItemId", "Time", item_index=model.item_index)
    n_steps = ds.schedule(args.batch_size, min_slots=1).n_steps
    evaluate(model, ds, batch_size=args.batch_size)  # warm-up
    us = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        evaluate(model, ds, cutoffs=(1, 5, 10, 20), batch_size=args.batch_size)
        us.append((time.perf_counter() - t0) / n_steps * 1e6)
    print(f"{args.items} items, batch {args.batch_size}, {n_steps} steps: "
          f"{min(us):.1f} / {statistics.median(us):.1f} / {max(us):.1f} us per step")


if __name__ == "__main__":
    main()
