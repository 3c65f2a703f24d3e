"""Micro-benchmarks of every fused op against its plain-PyTorch reference.

Each benches/op_<name>.py module defines `cases(device)` yielding dicts with keys
`op`, `shape` (a short label), `fused` and `reference` (zero-argument callables doing one
full forward+backward or update) and optionally `check` (called once before timing;
raises if fused and reference disagree). This script times them (median, after
warm-up), prints one table per device with the ratio reference/fused, and optionally
writes it to a file.

    python benches/ops.py [--device cpu|cuda|all] [--ops loss,sparse] [--out FILE]
"""
import argparse
import importlib
import pathlib
import sys

import torch

# Run from a source checkout without installing: the repo root (for gru4rec_fast) and
# benches/ (for the op case modules) go on the path.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import format_table, machine_name, median_time  # noqa: E402

OP_MODULES = ["op_sampled_scores", "op_fused_loss", "op_sparse_row_update", "op_gru_step",
              "op_eval_rank", "op_cdf_sample", "op_topk_scores"]


def run(device, only=None, reps=30):
    rows = []
    for mod_name in OP_MODULES:
        if only and not any(key in mod_name for key in only):
            continue
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as err:
            if err.name == mod_name:
                continue
            raise
        for case in mod.cases(device):
            if "check" in case:
                case["check"]()
            t_ref = median_time(case["reference"], device, reps=reps)
            t_fused = median_time(case["fused"], device, reps=reps)
            rows.append([case["op"], case["shape"], f"{t_ref * 1e6:,.1f}", f"{t_fused * 1e6:,.1f}",
                         f"{t_ref / t_fused:.2f}x"])
            print(f"  {case['op']:<28} {case['shape']:<34} ref {t_ref * 1e6:10.1f} us  "
                  f"fused {t_fused * 1e6:10.1f} us  {t_ref / t_fused:6.2f}x", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "all"])
    parser.add_argument("--ops", default="", help="comma-separated substrings of op names")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--out", default=None, help="also write the tables to this file")
    args = parser.parse_args(argv)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        if args.device == "cuda":
            sys.exit("benches/ops.py: --device cuda but no GPU is available")
        devices.remove("cuda")
    only = [s for s in args.ops.split(",") if s]
    text = []
    for device in devices:
        print(f"== {device}: {machine_name(device)}", flush=True)
        rows = run(device, only, args.reps)
        table = format_table(rows, ["op", "shape", "reference (us)", "fused (us)", "speed-up"])
        text.append(f"### {device}: {machine_name(device)}, torch {torch.__version__}\n\n{table}\n")
        print(table, flush=True)
    if args.out:
        pathlib.Path(args.out).write_text("\n".join(text))


if __name__ == "__main__":
    main()
