"""Where the fused CPU training step's time goes beyond its GEMM floor: torch.profiler over
steps of ``fit`` (the C++ loop marks its phases as ``g4r::*`` record-function scopes),
per phase the wall time per step and the part of it spent in ATen's GEMM calls
(aten::mm / addmm / addmm_ below the phase), beside the GEMM floor of the same step
(benches/gemm_floor.py) measured in the same process.

    python benches/profile_step.py [--setup "rsc15 xe+logq"] [--threads N] [--steps 400]

The profiler adds a few microseconds per recorded op (~70 per step), so the per-step
times are above the unprofiled ones; the shares are what this is for. The negative
samples are drawn outside the step, in blocks of ``fit``'s ``sample_store_size`` ids
(uniforms, then ``cdf_search``); the last row gives that draw per step, amortised over
the block's steps as in ``fit``.
"""
import argparse
import collections
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

GEMM_OPS = ("aten::mm", "aten::addmm", "aten::addmm_", "aten::mm.out")
DRAW_OPS = ("aten::uniform_", "gru4rec_fast::cdf_search")   # a sample block's draw
STORE_SIZE = 10_000_000                                      # fit's sample_store_size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup", default="rsc15 xe+logq")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=400, help="profiled steps (after 100 warm-up steps)")
    args = ap.parse_args(argv)
    import torch
    from torch.profiler import ProfilerActivity, profile

    import train
    from gemm_floor import floor_seconds_per_step, step_products
    from gru4rec_fast import GRU4Rec
    from gru4rec_fast.data import synthetic
    from gru4rec_fast.model import network
    from timing import format_table, machine_name

    # gru4rec_fast's own call: fit/evaluate's default thread count never overrides it
    from gru4rec_fast.cpu_threads import set_num_threads
    set_num_threads(args.threads)
    hyper, n_items = train.PUBLISHED[args.setup]
    df = synthetic.generate(max(200_000, (args.steps + 200) * hyper["batch_size"] * 2),
                            min(40_000, n_items), seed=0)
    params = dict(train.COMMON, **hyper)
    GRU4Rec(**params, seed=0).fit(df, max_steps=100, verbose=False)        # warm-up
    model = GRU4Rec(**params, seed=0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.fit(df, max_steps=args.steps, verbose=False)
    phase_us = collections.Counter()
    gemm_us = collections.Counter()
    draw_us, n_blocks = 0.0, 0
    for ev in prof.events():
        if ev.name in DRAW_OPS and _phase_of(ev) is None:
            draw_us += ev.cpu_time_total
            n_blocks += ev.name == "gru4rec_fast::cdf_search"
        if ev.name.startswith("g4r::"):
            phase_us[ev.name] += ev.cpu_time_total
        elif ev.name in GEMM_OPS:
            phase = _phase_of(ev, stop_at=GEMM_OPS)    # an addmm calling mm: count once
            if phase is not None:
                gemm_us[phase] += ev.cpu_time_total
    ops = step_products(network.init_weights(model.hyper, model.n_items, seed=0),
                        model.hyper["layers"], network.embedding_mode(model.hyper),
                        hyper["batch_size"], params["n_sample"])
    floor_us = floor_seconds_per_step(ops, seconds=2.0) * 1e6
    steps = args.steps
    total = sum(phase_us.values())
    rows = []
    for name, us in sorted(phase_us.items(), key=lambda kv: -kv[1]):
        rows.append([name, f"{us / steps:.0f}", f"{100 * us / total:.0f}%", f"{gemm_us[name] / steps:.0f}",
                     f"{(us - gemm_us[name]) / steps:.0f}"])
    g = sum(gemm_us.values())
    rows.append(["all phases", f"{total / steps:.0f}", "100%", f"{g / steps:.0f}", f"{(total - g) / steps:.0f}"])
    if n_blocks:
        per_step = draw_us / n_blocks / (STORE_SIZE // params["n_sample"])
        rows.append(["sample block draw (amortised)", f"{per_step:.0f}", "", "0", f"{per_step:.0f}"])
    print(f"{args.setup}, {machine_name('cpu')}, {steps} profiled steps")
    print(f"GEMM floor (same process, unprofiled tight loop): {floor_us:.0f} us/step\n")
    print(format_table(rows, ["phase", "us/step", "share", "GEMM us/step (profiled)", "other us/step"]))


def _phase_of(ev, stop_at=()):
    """The name of the g4r:: phase an event runs under, or None: outside every phase, or
    below an enclosing event named in ``stop_at`` first."""
    parent = ev.cpu_parent
    while parent is not None:
        if parent.name.startswith("g4r::"):
            return parent.name
        if parent.name in stop_at:
            return None
        parent = parent.cpu_parent
    return None


if __name__ == "__main__":
    main()
