"""Serving throughput of ``GRU4Rec.recommend`` for many concurrent sessions: requests
(calls) per second and per-call latency p50/p99 at batch 1 and 64 (sessions per call,
one event each), top-20 over all items.

Traffic: a pool of ``--open`` sessions; each call feeds B distinct sessions of the pool
one random item each; a session ends after a random 2-10 events (``forget``) and a new
id takes its place. The fused path (device-resident state table, one batched step and
the tiled ``topk_scores`` per call) runs beside the previous design (a dict of
per-session lists of tensors stacked on every call, full score matrix, torch.topk).
Each configuration runs ``--runs`` times: requests/s as min/median/max over runs,
latency percentiles over all calls. Untrained weights (speed does not depend on them).

    python benches/serve.py [--device cpu] [--threads N] [--items 50000] [--batch 1 64]
                            [--calls 300] [--runs 3] [--out FILE]
"""
import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))


class ListStateServer:
    """The previous recommend(): per-session lists of (d,) tensors, stacked per call."""

    def __init__(self, model):
        self.m = model
        self.sessions = {}

    def recommend(self, sids, items, k):
        import torch
        from gru4rec_fast.model.forward import forward_step
        m = self.m
        X = torch.from_numpy(np.asarray(m.item_index.map_items(np.asarray(items)), dtype=np.int64)).to(m.device)
        new = torch.tensor([s not in self.sessions for s in sids], device=m.device)
        H = [torch.stack([self.sessions[s][l] if s in self.sessions else
                          torch.zeros(d, dtype=m.dtype, device=m.device) for s in sids])
             for l, d in enumerate(m.layers)]
        outs = forward_step(m.weights, m.hyper, X, H, reset=new, backend=m.backend)
        for i, s in enumerate(sids):
            self.sessions[s] = [o[i].clone() for o in outs]
        logits = torch.addmm(m.weights["By"], outs[-1], m.weights["Wy"].T)
        top = torch.topk(logits, k, dim=1).indices
        return m.item_index.ids[top.cpu().numpy()], logits.gather(1, top).cpu().numpy()

    def forget(self, sids):
        for s in sids:
            self.sessions.pop(s, None)


def run_traffic(server, n_items, batch, calls, n_open, k, seed):
    rng = np.random.default_rng(seed)
    open_ids = np.arange(n_open)
    left = rng.integers(2, 11, n_open)
    next_id = n_open
    lat = []
    t_all = time.perf_counter()
    for _ in range(calls):
        pick = rng.choice(n_open, batch, replace=False)
        sids = open_ids[pick].tolist()
        items = rng.integers(0, n_items, batch)
        t0 = time.perf_counter()
        server.recommend(sids, items, k)
        lat.append(time.perf_counter() - t0)
        left[pick] -= 1
        done = pick[left[pick] == 0]
        if len(done):
            server.forget(open_ids[done].tolist())
            open_ids[done] = np.arange(next_id, next_id + len(done))
            next_id += len(done)
            left[done] = rng.integers(2, 11, len(done))
    return calls / (time.perf_counter() - t_all), lat


class ModelServer:
    def __init__(self, model):
        self.m = model

    def recommend(self, sids, items, k):
        return self.m.recommend(sids, items, k=k)

    def forget(self, sids):
        self.m.forget(sids)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--items", type=int, nargs="+", default=[50_000])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--open", type=int, default=10_000, help="concurrently open sessions")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch
    from _synthetic_model import synthetic_model
    from timing import format_table, machine_name
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    rows = []
    for n in args.items:
        model = synthetic_model(n, device=args.device)
        for batch in args.batch:
            for name, make in (("fused", ModelServer), ("previous", ListStateServer)):
                rates, lats = [], []
                for r in range(args.runs):
                    model.forget()
                    server = make(model)
                    run_traffic(server, n, batch, 20, args.open, args.k, seed=100 + r)  # warm-up
                    server.forget(list(range(args.open * 2)))
                    rate, lat = run_traffic(server, n, batch, args.calls, args.open, args.k, seed=r)
                    rates.append(rate)
                    lats += lat
                ms = np.percentile(np.asarray(lats) * 1e3, [50, 99])
                row = [f"{n:,}", batch, name,
                       f"{min(rates):,.0f} / {statistics.median(rates):,.0f} / {max(rates):,.0f}",
                       f"{statistics.median(rates) * batch:,.0f}", f"{ms[0]:.2f}", f"{ms[1]:.2f}"]
                print(" | ".join(map(str, row)), flush=True)
                rows.append(row)
    title = (f"### recommend() serving ({machine_name(args.device)}; layers 100, top-{args.k} "
             f"of all items, {args.open:,} open sessions, {args.calls} calls x {args.runs} runs)")
    table = format_table(rows, ["items", "batch", "implementation", "requests/s min/med/max",
                                "events/s (median)", "latency p50 ms", "latency p99 ms"])
    text = f"`python benches/serve.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n{title}\n\n{table}\n"
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
