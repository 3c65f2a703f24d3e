"""Why two CPU threads sometimes lose to one: thread settings compared in fresh processes.

Each run is a new Python process with one variant of the threading environment (set
before torch loads its OpenMP runtime). In it: the RSC15 step's GEMMs in a tight loop
(benches/gemm_floor.py, layers 100, batch 32, 2048 samples) for ``--windows`` windows of
``--seconds`` each, so that a process that is slow for its whole life shows as slow in
every window; with ``--fused``, also the fused training step itself (benches/train.py's
measurement, RSC15 cross-entropy + logQ). Variants run interleaved (run 1 of every
variant, then run 2, ...), so that load from other work on the machine hits them alike;
the 1-minute load average is printed beside each run.

    python benches/threads.py [--runs 5] [--seconds 1.5] [--windows 3] [--fused]
                              [--variants t1 t2 ...] [--out FILE.md]

Per process it also records what the hypotheses need: the OpenMP / BLAS libraries
mapped into the process (one OpenMP runtime or two?), ``mkl_get_max_threads`` and
``omp_get_max_threads`` as torch reports them, and the involuntary context switches of
the process's threads during the GEMM windows (spinning threads that the kernel
preempts); and, sampled from outside every 10 ms, the share of the moments with two of
its threads runnable in which both sat on the same CPU (the scheduler stacked them).
That share counts every thread of the child (numpy's OpenBLAS worker and allocator
threads too), so it reads high for one-thread processes as well: a hint, not a proof.
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

# name -> (torch threads, extra environment); all set before `import torch` in the child.
VARIANTS = {
    "t1": (1, {"OMP_NUM_THREADS": "1"}),
    "t2": (2, {}),
    "t2-passive": (2, {"OMP_WAIT_POLICY": "PASSIVE"}),
    "t2-active": (2, {"OMP_WAIT_POLICY": "ACTIVE"}),
    "t2-bind": (2, {"OMP_PROC_BIND": "true", "OMP_PLACES": "cores"}),
    "t2-spin10k": (2, {"GOMP_SPINCOUNT": "10000"}),
    "t2-mkl-static": (2, {"MKL_DYNAMIC": "FALSE"}),
    "t2-openblas1": (2, {"OPENBLAS_NUM_THREADS": "1"}),
}
CLEARED = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OMP_PROC_BIND", "OMP_PLACES", "GOMP_SPINCOUNT",
           "MKL_DYNAMIC", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _ctx_switches():
    """(voluntary, involuntary) context switches summed over this process's threads."""
    vol = invol = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                s = f.read()
        except OSError:
            continue
        vol += int(re.search(r"^voluntary_ctxt_switches:\s*(\d+)", s, re.M).group(1))
        invol += int(re.search(r"^nonvoluntary_ctxt_switches:\s*(\d+)", s, re.M).group(1))
    return vol, invol


def child(spec):
    threads, seconds, windows, fused = spec["threads"], spec["seconds"], spec["windows"], spec["fused"]
    import torch
    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(threads)
    from gemm_floor import floor_seconds_per_step, step_products
    info = torch.__config__.parallel_info()
    mkl = re.search(r"mkl_get_max_threads\(\) : (\d+)", info)
    omp = re.search(r"omp_get_max_threads\(\) : (\d+)", info)
    with open("/proc/self/maps") as f:
        libs = sorted({pathlib.Path(m).name for m in
                       re.findall(r"(/\S*(?:gomp|iomp|mkl|openblas|tbb)\S*\.so\S*)", f.read())})
    # The RSC15 shapes (shared embedding, layers 100): Wx 100 x 300, Wh 100 x 100,
    # Wrz 100 x 200, Wy 50k x 100; the values do not matter to a GEMM's time.
    g = torch.Generator().manual_seed(0)
    weights = {"Wx.0": torch.rand(100, 300, generator=g), "Wh.0": torch.rand(100, 100, generator=g),
               "Wrz.0": torch.rand(100, 200, generator=g), "Wy": torch.rand(50_000, 100, generator=g)}
    ops = step_products(weights, [100], "shared", 32, 2048)
    floor_seconds_per_step(ops, seconds=0.2)            # warm-up
    v0, i0 = _ctx_switches()
    t0 = time.perf_counter()
    gemm = [1.0 / floor_seconds_per_step(ops, seconds=seconds) for _ in range(windows)]
    wall = time.perf_counter() - t0
    v1, i1 = _ctx_switches()
    out = dict(gemm_mbs=gemm, invol_per_s=(i1 - i0) / wall, vol_per_s=(v1 - v0) / wall,
               mkl_threads=int(mkl.group(1)) if mkl else None,
               omp_threads=int(omp.group(1)) if omp else None, libs=libs)
    if fused:
        import train
        hyper, n_items = train.PUBLISHED["rsc15 xe+logq"]
        out["fused_mbs"] = train.measure(hyper, n_items, "fused", "cpu", threads, seconds * 2,
                                         floor=False)["mbs"]
    return out


def _thread_states(pid):
    """[(state, last CPU, user+system ticks)] of the threads of process pid."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out.append((fields[0], int(fields[36]), int(fields[11]) + int(fields[12])))
    return out


def run_variant(name, args):
    """One fresh process of variant ``name``; while it runs, this (parent) process samples
    its threads every 10 ms: how often two of them are runnable on the same CPU (the
    scheduler stacked them) and how often only one of them runs."""
    threads, env_extra = VARIANTS[name]
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    spec = json.dumps(dict(threads=threads, seconds=args.seconds, windows=args.windows, fused=args.fused))
    load = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, __file__, "--child", spec], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    samples = stacked = 0
    while proc.poll() is None:
        time.sleep(0.01)
        running = [cpu for state, cpu, _ in _thread_states(proc.pid) if state == "R"]
        if len(running) >= 2:        # the main thread and an OpenMP worker both runnable
            samples += 1
            stacked += len(set(running)) < len(running)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: child failed: {(err or out).strip().splitlines()[-3:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res["load"] = load
    res["stacked"] = stacked / samples if samples else 0.0
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="processes per variant, interleaved")
    ap.add_argument("--seconds", type=float, default=1.5, help="seconds per GEMM window")
    ap.add_argument("--windows", type=int, default=3, help="GEMM windows per process")
    ap.add_argument("--fused", action="store_true", help="also time the fused RSC15 step")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--out", default=None, help="append the table to this Markdown file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    results = {v: [] for v in args.variants}
    for i in range(args.runs):
        for v in args.variants:
            res = run_variant(v, args)
            results[v].append(res)
            fused = f", fused {res['fused_mbs']:.0f}" if "fused_mbs" in res else ""
            print(f"run {i + 1} {v:14s} load {res['load']:.2f}: GEMM loop "
                  f"{' / '.join(f'{x:.0f}' for x in res['gemm_mbs'])} steps/s{fused}, "
                  f"{res['invol_per_s']:.0f} involuntary switches/s, "
                  f"{100 * res['stacked']:.0f}% stacked, mkl {res['mkl_threads']}, "
                  f"omp {res['omp_threads']}, {' '.join(res['libs'])}", flush=True)
    from timing import format_table
    rows = []
    for v, runs in results.items():
        per_proc = [statistics.median(r["gemm_mbs"]) for r in runs]
        inner = [max(r["gemm_mbs"]) / min(r["gemm_mbs"]) for r in runs]
        row = [v, VARIANTS[v][0], " ".join(f"{k}={x}" for k, x in VARIANTS[v][1].items()) or "-",
               f"{min(per_proc):.0f} / {statistics.median(per_proc):.0f} / {max(per_proc):.0f}",
               f"{max(inner):.2f}",
               f"{statistics.median(r['invol_per_s'] for r in runs):.0f}",
               f"{100 * statistics.median(r['stacked'] for r in runs):.0f}%"]
        if args.fused:
            fz = [r["fused_mbs"] for r in runs]
            row.append(f"{min(fz):.0f} / {statistics.median(fz):.0f} / {max(fz):.0f}")
        row.append(f"{min(r['load'] for r in runs):.2f}-{max(r['load'] for r in runs):.2f}")
        rows.append(row)
    headers = ["variant", "threads", "environment", "GEMM loop steps/s per process (min / median / max)",
               "max in-process window ratio", "involuntary switches/s",
               "two runnable threads on one CPU"]
    headers += (["fused RSC15 xe mb/s (min / median / max)"] if args.fused else []) + ["load (1 min)"]
    text = format_table(rows, headers)
    print("\n" + text)
    if args.out:
        cmd = "python benches/threads.py " + " ".join(argv if argv is not None else sys.argv[1:])
        with open(args.out, "a") as f:
            f.write(f"\n`{cmd}` ({args.runs} processes per variant, interleaved)\n\n{text}\n")


if __name__ == "__main__":
    main()
