"""A/B of the fused CPU ops between two checkouts (e.g. main's build vs a branch's), by
running each checkout's benches/ops.py in turn, interleaved, so that the load of a shared
machine drifts over both alike. Prints min / median / max of the fused times of every
case over the runs, and the ratio of the medians (B / A: below 1 means B is faster).

    python benches/ab_ops.py --a /path/to/old/checkout --b . --ops fused_loss --runs 7

Each checkout needs its compiled gru4rec_fast/_C*.so and the same benches/op_*.py case
modules (copy them over when the cases changed), so that only the kernels differ.
"""
import argparse
import pathlib
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"^\s+(?P<op>.+?)\s{2,}(?P<shape>.+?)\s+ref\s+[\d.]+ us\s+fused\s+(?P<fused>[\d.]+) us")


def one_run(checkout, ops, reps, threads):
    cmd = [sys.executable, str(pathlib.Path(checkout) / "benches" / "ops.py"), "--device", "cpu",
           "--ops", ops, "--reps", str(reps)]
    env_code = f"import torch; torch.set_num_threads({threads})" if threads else ""
    if env_code:  # ops.py has no thread option: set it through a wrapper
        cmd = [sys.executable, "-c", f"{env_code}; import runpy, sys; sys.argv = {cmd[1:]!r}; "
               f"runpy.run_path({cmd[1]!r}, run_name='__main__')"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    times = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            times[f"{m['op'].strip()} {m['shape'].strip()}"] = float(m["fused"])
    if not times:
        raise RuntimeError(f"no timings parsed from {checkout}:\n{out}")
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True, help="checkout A (the baseline)")
    p.add_argument("--b", required=True, help="checkout B (the change)")
    p.add_argument("--ops", default="fused_loss", help="as benches/ops.py --ops")
    p.add_argument("--runs", type=int, default=7, help="runs per checkout, interleaved (>= 5)")
    p.add_argument("--reps", type=int, default=30, help="as benches/ops.py --reps")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default=None, help="also write the Markdown table here")
    args = p.parse_args(argv)
    runs = {"A": [], "B": []}
    for r in range(args.runs):
        order = ("A", "B") if r % 2 == 0 else ("B", "A")  # alternate who goes first
        for side in order:
            runs[side].append(one_run(getattr(args, side.lower()), args.ops, args.reps, args.threads))
            print(f"run {r + 1}/{args.runs} {side} done", file=sys.stderr, flush=True)
    cases = list(runs["A"][0])
    rows = ["| case | A min / median / max (us) | B min / median / max (us) | B / A (medians) |",
            "|---|---|---|---|"]
    for c in cases:
        stats = {}
        for side in ("A", "B"):
            v = [t[c] for t in runs[side]]
            stats[side] = (min(v), statistics.median(v), max(v))
        fmt = lambda s: f"{s[0]:,.1f} / {s[1]:,.1f} / {s[2]:,.1f}"
        rows.append(f"| {c} | {fmt(stats['A'])} | {fmt(stats['B'])} | "
                    f"{stats['B'][1] / stats['A'][1]:.3f} |")
    table = "\n".join(rows)
    print(table)
    if args.out:
        pathlib.Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
