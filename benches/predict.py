"""Batch prediction throughput (``GRU4Rec.predict_next``): sessions per second, top-20
after each session's last event, all items ranked.

The fused path (session-parallel network steps + the tiled ``topk_scores`` op, memory
O(batch x tile)) is timed beside a plain-PyTorch ranking of the same hidden states
(the full batch x n_items score matrix, then ``torch.topk``: what ``recommend`` did
before). Each configuration runs ``--runs`` times; the table gives min/median/max.
Untrained model weights for ``n_items`` items (speed does not depend on training).

    python benches/predict.py [--device cpu|cuda] [--threads N] [--items 50000 1000000]
                              [--sessions N] [--runs 3] [--out FILE]
"""
import argparse
import pathlib
import statistics
import sys
import time
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))


def full_matrix_topk(H, W, b, k, candidates=None, exclude_offsets=None, exclude_ids=None,
                     final_act="linear", tile_size=None):
    """The plain way: every score of the batch at once, then torch.topk."""
    import torch
    from gru4rec_fast.ops.reference import final_activation
    logits = torch.addmm(b, H, W.T)
    top = torch.topk(logits, k, dim=1).indices
    return final_activation(logits, final_act).gather(1, top), top


def time_predict(model, events, k, batch_size, plain, device):
    import torch
    from gru4rec_fast.model import prediction
    saved = prediction.ops_module
    if plain:
        prediction.ops_module = lambda backend: types.SimpleNamespace(topk_scores=full_matrix_topk)
    try:
        sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
        sync()
        t0 = time.perf_counter()
        df = model.predict_next(events, k=k, batch_size=batch_size)
        sync()
        return time.perf_counter() - t0, df
    finally:
        prediction.ops_module = saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--items", type=int, nargs="+", default=[50_000, 1_000_000])
    ap.add_argument("--sessions", type=int, nargs="+", default=[4000, 1000],
                    help="sessions per run, one per --items value (or one for all)")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch
    from _synthetic_model import synthetic_model, synthetic_sessions
    from timing import format_table, machine_name
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    sessions = args.sessions if len(args.sessions) == len(args.items) else args.sessions[:1] * len(args.items)
    rows = []
    for n, n_sess in zip(args.items, sessions):
        model = synthetic_model(n, device=args.device)
        ev = synthetic_sessions(n_sess * 6, n, seed=1)
        keep = ev.SessionId.drop_duplicates().to_numpy()[:n_sess]
        ev = ev[ev.SessionId.isin(keep)]
        n_sess = len(keep)
        model.predict_next(ev.iloc[:200], k=args.k)                 # warm-up
        res = {}
        for plain in (False, True):
            rates = []
            for _ in range(args.runs):
                dt, df = time_predict(model, ev, args.k, args.batch_size, plain, args.device)
                rates.append(n_sess / dt)
            res[plain] = rates
            print(f"{n} items, {'plain' if plain else 'fused'}: sessions/s "
                  f"{min(rates):,.0f} / {statistics.median(rates):,.0f} / {max(rates):,.0f}",
                  flush=True)
        fmt = lambda r: f"{min(r):,.0f} / {statistics.median(r):,.0f} / {max(r):,.0f}"  # noqa: E731
        rows.append([f"{n:,}", f"{n_sess:,}", f"{len(ev):,}", fmt(res[False]), fmt(res[True]),
                     f"{statistics.median(res[False]) / statistics.median(res[True]):.2f}x"])
    title = (f"### Batch prediction throughput ({machine_name(args.device)}; layers 100, "
             f"top-{args.k} after the last event, all items, batch {args.batch_size}, "
             f"{args.runs} runs)")
    table = format_table(rows, ["items", "sessions", "events", "fused sessions/s min/med/max",
                                "plain topk sessions/s min/med/max", "median speed-up"])
    text = f"`python benches/predict.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n{title}\n\n{table}\n"
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
