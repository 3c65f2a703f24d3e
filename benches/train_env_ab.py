"""benches/train.py under two environments, interleaved run by run: A/B of a run-time
switch (e.g. GRU4REC_FAST_HUGE_PAGES=0) on end-to-end training throughput.

    python benches/train_env_ab.py --env GRU4REC_FAST_HUGE_PAGES=0 --rounds 5 -- \\
        --only published --setups "rsc15 xe+logq" retailrocket --seconds 4 --threads 1 --no-reference

    python benches/train_env_ab.py --env GRU4REC_FAST_HUGE_PAGES=0 --rounds 5 \\
        --in-process 1000000 5000000 --seconds 4 --threads 1

Each round runs ``benches/train.py ARGS --repeats 1`` once without and once with the
variable(s) set (the order alternating from round to round, so drift hits both alike)
and reads its per-run lines ("<setup> [fused]: X mb/s ... fused/floor Y x"). Prints, per
setup, min / median / max of mb/s and of fused/floor (the GEMM floor is timed in the
same process, so that ratio is less disturbed by a loaded machine), and of the per-round
ratio default / switched.

``--in-process N ...``: for a switch read at run time (not at import), the rounds run
train.py's measurement itself (``train.measure``, fused backend, rsc15 bpr-max shapes
with N items, no GEMM floor) in this one process, setting and unsetting the variables
between runs: no between-process drift, only the machine's load.
"""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
LINE = re.compile(r"^\s*(?P<setup>.+?) \[fused\]: (?P<mbs>[\d.]+) mb/s")
FLOOR = re.compile(r"fused/floor (?P<floor>[\d.]+)x")


def run(args, env):
    r = subprocess.run([sys.executable, str(HERE / "train.py"), *args, "--repeats", "1"],
                       capture_output=True, text=True, env=env)
    if r.returncode:
        sys.exit(f"train.py failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        if m:
            f = FLOOR.search(line)
            out[m["setup"]] = (float(m["mbs"]), float(f["floor"]) if f else None)
    if not out:
        sys.exit(f"train_env_ab: no '[fused]: ... mb/s' line in train.py's output:\n{r.stdout}")
    return out


def in_process(a, switched, label):
    """The --in-process rounds (see the module doc); returns runs as ``run`` does."""
    sys.path.insert(0, str(HERE))
    import train  # noqa: PLC0415
    hyper = train.PUBLISHED["rsc15 bpr-max"][0]
    runs = {"default": [], label: []}
    for r in range(a.rounds):
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for k in order:
            for name, value in switched.items():
                if k == "default":
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            res = {}
            for n in a.in_process:
                m = train.measure(hyper, n, "fused", "cpu", a.threads, a.seconds, floor=False)
                res[f"rsc15 bpr-max, {n:,} items"] = (m["mbs"], None)
            runs[k].append(res)
            print(f"round {r + 1} [{k}]: " + "; ".join(f"{s} {m:.1f} mb/s" for s, (m, _) in res.items()),
                  flush=True)
    for name in switched:
        os.environ.pop(name, None)
    return runs


def spread(v):
    v = sorted(x for x in v if x is not None)
    return f"{v[0]:.3g} / {statistics.median(v):.3g} / {v[-1]:.3g}" if v else "-"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", action="append", required=True, metavar="NAME=VALUE")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--in-process", type=int, nargs="+", metavar="N_ITEMS", default=None)
    ap.add_argument("--seconds", type=float, default=4.0, help="--in-process: window per run")
    ap.add_argument("--threads", type=int, default=1, help="--in-process: CPU threads")
    ap.add_argument("train_args", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    train_args = a.train_args[1:] if a.train_args[:1] == ["--"] else a.train_args
    switched = dict(kv.split("=", 1) for kv in a.env)
    label = " ".join(a.env)
    envs = {"default": dict(os.environ), label: {**os.environ, **switched}}
    for k in switched:
        envs["default"].pop(k, None)
    if a.in_process:
        runs = in_process(a, switched, label)
        what = f"train.measure in one process, items {a.in_process}"
    else:
        runs = {k: [] for k in envs}
        for r in range(a.rounds):
            order = list(envs) if r % 2 == 0 else list(envs)[::-1]
            for k in order:
                res = run(train_args, envs[k])
                runs[k].append(res)
                print(f"round {r + 1} [{k}]: " + "; ".join(f"{s} {m:.1f} mb/s (floor x{f})"
                                                           for s, (m, f) in res.items()), flush=True)
        what = f"benches/train.py {' '.join(train_args)}"
    setups = list(runs["default"][0])
    print(f"\n{what}: {a.rounds} rounds, min / median / max")
    print("| setup | run | mb/s | fused time / floor time |")
    print("|---|---|---|---|")
    for s in setups:
        for k in envs:
            print(f"| {s} | {k} | {spread([r[s][0] for r in runs[k]])} | "
                  f"{spread([r[s][1] for r in runs[k]])} |")
        ratio = [x[s][0] / y[s][0] for x, y in zip(runs["default"], runs[label])]
        print(f"| {s} | default / switched mb/s, per round | {spread(ratio)} | |")


if __name__ == "__main__":
    main()
