"""End-to-end training throughput: the fused backend (C++ loop) against the reference
backend (a per-step PyTorch loop with autograd), side by side in one run.

Every measurement runs in a fresh subprocess (so that its peak memory is its own) and
drives the same epoch loop as ``GRU4Rec.fit`` (gru4rec_fast.model.training.run_epoch):
weights initialised for ``n_items`` items, the epoch schedule of synthetic sessions on
the device, the sample store, chunks of 32 steps (fit: 128; one Python call per chunk
either way, so the difference is noise). The first chunk is warm-up; the
window is the following chunks until ``--seconds`` have passed (at most 2048 steps).
The sample store draws 10M ids per block by default (one block per 4,882 steps at 2048
samples); the window never crosses a block, so the time of one block draw is measured
on its own and added per step (amortised, as in a full epoch).

Catalogue size: the synthetic sessions use a few tens of thousands of items; their ids
are spread at random over ``n_items`` rows, and every other item gets support 1, so
that the tables, the sampling distribution and the CDF have the full size while the
sessions stay the same. That is what the scaling table varies.

    python benches/train.py [--device cpu|cuda] [--threads N] [--seconds S] [--repeats R]
                            [--only published|grid|scaling] [--setups NAME ...]
                            [--no-reference] [--no-floor] [--out DIR]

GEMM floor: each fused run also times, in the same process at the same threads, a
tight loop of exactly the step's matrix products at the step's shapes
(benches/gemm_floor.py); "fused time / floor time" is how far the whole step is from
that floor (1.0x = nothing but the GEMMs).

Timings on shared machines drift by tens of percent; --repeats runs each backend R
times, interleaved with the other, and the tables show min / median / max over the
runs, the fused/reference ratio of each interleaved pair and the fused/floor ratio of
each fused process (min / median / max of those ratios).

Prints tables (mini-batches/s, events/s, speed-up, peak RSS / GPU memory) and writes
them with a PNG plot (matplotlib, if installed) to --out.
"""
import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

# name -> (hyperparameters, n_items): the published setups of examples/params/ (shared, 2048
# samples) and the RSC15 shape with bpr-max / elu-0.5 the speed figures of the authors use.
PUBLISHED = {
    "rsc15 bpr-max": (dict(loss="bpr-max", final_act="elu-0.5", layers=[100], batch_size=32,
                           bpreg=1.0, sample_alpha=0.75, learning_rate=0.1), 50_000),
    "rsc15 xe+logq": (dict(loss="cross-entropy", final_act="softmax", layers=[100], batch_size=32,
                           dropout_p_embed=0.1, learning_rate=0.1, sample_alpha=0.75, bpreg=0.0,
                           logq=1.0), 50_000),
    "retailrocket": (dict(loss="bpr-max", final_act="elu-0.5", layers=[224], batch_size=80,
                          dropout_p_embed=0.5, dropout_p_hidden=0.05, learning_rate=0.05,
                          momentum=0.4, sample_alpha=0.4, bpreg=1.95), 50_000),
    "yoochoose": (dict(loss="cross-entropy", final_act="softmax", layers=[480], batch_size=48,
                       dropout_p_hidden=0.2, learning_rate=0.07, sample_alpha=0.2, bpreg=0.0,
                       logq=1.0), 200_000),
    "rees46": (dict(loss="cross-entropy", final_act="softmax", layers=[512], batch_size=240,
                    dropout_p_embed=0.45, learning_rate=0.065, sample_alpha=0.5, bpreg=0.0,
                    logq=1.0), 200_000),
}
COMMON = dict(constrained_embedding=True, embedding=0, n_sample=2048, n_epochs=1)
GRID_ITEMS = 200_000
SCALING_ITEMS = [10_000, 100_000, 1_000_000, 5_000_000]
STORE_SIZE = 10_000_000
REPEATS = [1]           # set from --repeats, for the table titles
BENCH_CHUNK = 32        # steps per backend call here (fit uses 128): finer window ends


def grid():
    out = {}
    for layers in (100, 500):
        for batch in (32, 64, 128, 256):
            for extra in ("plain", "drop+mom"):
                kw = dict(loss="bpr-max", final_act="elu-0.5", layers=[layers], batch_size=batch,
                          bpreg=1.0, learning_rate=0.05)
                if extra != "plain":
                    kw.update(dropout_p_embed=0.2, dropout_p_hidden=0.2, momentum=0.3)
                out[f"grid L{layers} B{batch} {extra}"] = (kw, GRID_ITEMS)
    return out


# --------------------------------------------------------------------------------------
# One measurement (runs in the subprocess)
# --------------------------------------------------------------------------------------
def measure(hyper, n_items, backend, device, threads, seconds, max_window=2048, seed=0,
            floor=True):
    """Mini-batches/s of one backend on one setup (in this process), and with ``floor``
    the GEMM floor of the same step measured right after, in the same process at the same
    threads (benches/gemm_floor.py), so that the ratio is free of between-process drift."""
    import numpy as np
    import torch

    from gru4rec_fast import GRU4Rec
    from gru4rec_fast.data import SampleStore, SessionDataset, synthetic
    from gru4rec_fast.model import network
    from gru4rec_fast.model.backends import make_step
    from gru4rec_fast.model.training import EpochTensors, run_epoch
    from gru4rec_fast.model.seeding import stream_seed

    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(threads)
    model = GRU4Rec(backend=backend, device=device, seed=seed, **COMMON, **hyper)
    p = model.hyper
    steps_wanted = BENCH_CHUNK + max_window
    n_events = max(200_000, int(steps_wanted * p["batch_size"] * 1.4))
    df = synthetic.generate(n_events, min(40_000, n_items), seed=seed)
    ds = SessionDataset.from_events(df)
    # Spread the sessions' items over the full catalogue (see the module doc).
    rng = np.random.default_rng(seed)
    if n_items < ds.n_items:
        raise ValueError(f"n_items {n_items} < the {ds.n_items} items of the sessions")
    # An order-preserving spread: items keep their first-appearance order (popular items
    # early, as in a real item index), the catalogue's other items fall in between.
    code_map = np.sort(rng.choice(n_items, ds.n_items, replace=False)).astype(np.int64)
    supports = np.ones(n_items, dtype=np.int64)
    supports[code_map] = ds.supports
    sched = ds.schedule(p["batch_size"], min_slots=1, shuffle=False, seed=seed)
    sched.in_items = code_map[sched.in_items]
    sched.out_items = code_map[sched.out_items]
    n_steps = min(sched.n_steps, steps_wanted)

    weights = network.init_weights(p, n_items, seed=seed, device=device)
    gen = torch.Generator(device=device)
    gen.manual_seed(stream_seed(seed, "dropout"))
    step_fn = make_step(backend, model, weights, supports, gen)
    is_cuda = str(device).startswith("cuda")
    sync = torch.cuda.synchronize if is_cuda else (lambda: None)

    # One block draw of the store, timed alone on a throwaway store (it is amortised
    # over its steps below); the epoch's own store draws its first block in the warm-up.
    store = SampleStore(supports, p["n_sample"], p["sample_alpha"], STORE_SIZE, device=device,
                        seed=stream_seed(seed, "sampling"))
    per_block = STORE_SIZE // p["n_sample"]
    sync()
    t = time.perf_counter()
    SampleStore(supports, p["n_sample"], p["sample_alpha"], STORE_SIZE, device=device,
                seed=seed + 1).draw((per_block, p["n_sample"]))
    sync()
    block_seconds = time.perf_counter() - t

    epoch = EpochTensors.from_schedule(sched, device)
    H = [torch.zeros(int(sched.n_live[0]), d, dtype=weights["Wy"].dtype, device=device)
         for d in p["layers"]]
    marks = {}

    class Done(Exception):
        pass

    def on_chunk(t0, t1, losses, total):
        sync()
        now = time.perf_counter()
        if t0 == 0:
            marks["start"], marks["t_start"] = now, t1
            return
        marks["end"], marks["t_end"] = now, t1
        if now - marks["start"] >= seconds or t1 - marks["t_start"] >= max_window:
            raise Done

    if is_cuda:
        torch.cuda.reset_peak_memory_stats()
    try:
        total, _ = run_epoch(step_fn, epoch, n_steps, H, store, chunk_steps=BENCH_CHUNK,
                             on_chunk=on_chunk)
    except Done:
        pass
    if "end" not in marks:
        raise RuntimeError(f"too few steps ({n_steps}) for a measurement window")
    steps = marks["t_end"] - marks["t_start"]
    window = marks["end"] - marks["start"]
    seconds_per_step = window / steps + block_seconds / per_block
    events = int(sched.step_offsets[marks["t_end"]] - sched.step_offsets[marks["t_start"]])
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gpu_gb = torch.cuda.max_memory_allocated() / 2**30 if is_cuda else None
    out = dict(mbs=1.0 / seconds_per_step, eps=events / steps / seconds_per_step, steps=steps,
               window_s=window, block_s=block_seconds, rss_gb=rss_gb, gpu_gb=gpu_gb)
    if floor:
        from gemm_floor import floor_seconds_per_step, step_products
        ops = step_products(weights, p["layers"], network.embedding_mode(p), p["batch_size"],
                            p["n_sample"], seed=seed)
        out["floor_mbs"] = 1.0 / floor_seconds_per_step(ops, seconds=min(seconds, 3.0), sync=sync)
        out["n_products"] = len(ops)
    return out


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------
def run_sub(name, hyper, n_items, backend, args):
    spec = json.dumps(dict(hyper=hyper, n_items=n_items, backend=backend, device=args.device,
                           threads=args.threads, seconds=args.seconds,
                           floor=backend == "fused" and not args.no_floor))
    r = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        print(f"  {name} [{backend}] FAILED: {' / '.join(tail)}", flush=True)
        return None
    res = json.loads(r.stdout.strip().splitlines()[-1])
    floor = (f", GEMM floor {res['floor_mbs']:.1f} mb/s ({res['n_products']} products; "
             f"fused/floor {res['floor_mbs'] / res['mbs']:.2f}x)") if "floor_mbs" in res else ""
    print(f"  {name} [{backend}]: {res['mbs']:.1f} mb/s over {res['steps']} steps "
          f"(block draw {res['block_s']:.2f} s){floor}, peak RSS {res['rss_gb']:.2f} GB, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    return res


def median_run(runs):
    """The run with the median mini-batches/s (None if any failed)."""
    if not runs or any(r is None for r in runs):
        return None
    return sorted(runs, key=lambda r: r["mbs"])[len(runs) // 2]


def spread(values, fmt="{:.1f}"):
    """'min / median / max' of values (just the value when there is one)."""
    v = sorted(values)
    if len(v) == 1:
        return fmt.format(v[0])
    med = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    return " / ".join(fmt.format(x) for x in (v[0], med, v[-1]))


def table(title, rows, with_ref, machine):
    """rows: (name, n_items, fused runs, reference runs or None); each runs list holds
    the interleaved runs' results (None for a failed run)."""
    from timing import format_table
    many = REPEATS[0] > 1
    sp = " (min / median / max)" if many else ""
    headers = ["setup", "items", f"fused mb/s{sp}", "fused events/s"]
    if with_ref:
        headers += [f"reference mb/s{sp}", f"fused/reference{' (per pair)' if many else ''}"]
    with_floor = any(r and "floor_mbs" in r for _, _, fr, _ in rows for r in fr)
    if with_floor:
        headers += [f"GEMM floor mb/s{sp}", f"fused time / floor time{' (per process)' if many else ''}"]
    headers += ["fused peak RSS GB"]
    with_gpu = any(r and r["gpu_gb"] is not None for _, _, fr, _ in rows for r in fr)
    headers += ["fused peak GPU GB"] if with_gpu else []
    out = []
    for name, n_items, fr, rr in rows:
        f_ok = [r for r in fr if r]
        fm = median_run(f_ok)
        line = [name, f"{n_items:,}", spread([r["mbs"] for r in f_ok]) if f_ok else "failed",
                f"{fm['eps']:,.0f}" if fm else "-"]
        if with_ref:
            r_ok = [r for r in (rr or []) if r]
            pairs = [f["mbs"] / r["mbs"] for f, r in zip(fr, rr or []) if f and r]
            line += [spread([r["mbs"] for r in r_ok]) if r_ok else "failed",
                     spread(pairs, "{:.2f}x") if pairs else "-"]
        if with_floor:
            fl = [r for r in f_ok if "floor_mbs" in r]
            line += [spread([r["floor_mbs"] for r in fl]) if fl else "-",
                     spread([r["floor_mbs"] / r["mbs"] for r in fl], "{:.2f}x") if fl else "-"]
        line.append(f"{fm['rss_gb']:.2f}" if fm else "-")
        if with_gpu:
            line.append(f"{fm['gpu_gb']:.2f}" if fm and fm["gpu_gb"] is not None else "-")
        out.append(line)
    how = f"{REPEATS[0]} interleaved runs" if many else "one run"
    return f"### {title} ({machine}; {how})\n\n" + format_table(out, headers)


def plot(results, path, machine):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, layers in zip(axes, (100, 500)):
        for extra, style in (("plain", "-"), ("drop+mom", "--")):
            for backend, color in (("fused", "tab:blue"), ("reference", "tab:orange")):
                xs, ys = [], []
                for batch in (32, 64, 128, 256):
                    r = results.get((f"grid L{layers} B{batch} {extra}", backend))
                    if r:
                        xs.append(batch)
                        ys.append(r["mbs"])
                if xs:
                    ax.plot(xs, ys, style, marker="o", color=color, label=f"{backend}, {extra}")
        ax.set_xscale("log", base=2)
        ax.set_xticks([32, 64, 128, 256], ["32", "64", "128", "256"])
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("mini-batches / s")
        ax.set_title(f"layers {layers}, bpr-max, 2048 samples")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"gru4rec_fast training speed: {machine}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads (default: gru4rec_fast's default, docs/threads.md)")
    ap.add_argument("--seconds", type=float, default=6.0, help="measurement window per run")
    ap.add_argument("--only", choices=["published", "grid", "scaling"], nargs="*")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--no-floor", action="store_true", help="skip the GEMM floor")
    ap.add_argument("--setups", nargs="*", default=None, metavar="NAME",
                    help="only the published setups of these names (e.g. 'rsc15 xe+logq')")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs per backend, interleaved; the tables show the median run")
    ap.add_argument("--out", default=None, help="folder for train.md and train.png")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(measure(**spec)))
        return
    import torch
    from timing import machine_name
    from gru4rec_fast import cpu_threads
    if args.threads is None:
        args.threads = cpu_threads.default_threads()
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    machine = machine_name(args.device)
    parts = args.only or ["published", "grid", "scaling"]
    REPEATS[0] = args.repeats
    backends = ["fused"] if args.no_reference else ["fused", "reference"]
    results, sections = {}, []
    for part in parts:
        print(f"== {part} ==", flush=True)
        if part == "scaling":
            hyper = PUBLISHED["rsc15 bpr-max"][0]
            setups = {f"rsc15 bpr-max, {n:,} items": (hyper, n) for n in SCALING_ITEMS}
            bks = ["fused"]
        else:
            setups = PUBLISHED if part == "published" else grid()
            if part == "published" and args.setups:
                unknown = set(args.setups) - set(PUBLISHED)
                if unknown:
                    raise SystemExit(f"unknown setups {sorted(unknown)}; known: {list(PUBLISHED)}")
                setups = {k: v for k, v in setups.items() if k in args.setups}
            bks = backends
        rows = []
        for name, (hyper, n_items) in setups.items():
            runs = {b: [] for b in bks}
            for _ in range(args.repeats):           # interleaved: drift hits both alike
                for backend in bks:
                    runs[backend].append(run_sub(name, hyper, n_items, backend, args))
            for backend in bks:
                results[(name, backend)] = median_run(runs[backend])
            rows.append((name, n_items, runs["fused"], runs.get("reference")))
        sections.append(table({"published": "Published setups (shapes of examples/params/)",
                               "grid": "Batch size x layers grid (bpr-max / elu-0.5)",
                               "scaling": "Catalogue size scaling (fused)"}[part],
                              rows, part != "scaling" and not args.no_reference, machine))
    text = "\n\n".join(sections)
    print("\n" + text)
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        cmd = "python benches/train.py " + " ".join(argv if argv is not None else sys.argv[1:])
        (out / "train.md").write_text(f"`{cmd}`\n\n{text}\n")
        if "grid" in parts:
            png = plot(results, out / "train.png", machine)
            if png:
                print(f"plot: {png}")


if __name__ == "__main__":
    main()
