"""Per-call cost of the Python-facing fused ops on 1-row inputs (CPU), where the
framework's share (argument parsing, dispatcher, the Python autograd kernel of
torch.library.register_autograd) is most of the call: microseconds per call under
torch.no_grad(), with grad on and inputs that need no grad, and, for the autograd-aware
ops, with inputs that require grad (the recorded path, for comparison).

    python benches/op_call_overhead.py [--calls 3000] [--repeats 7]

Prints min / median / max over the repeats of the mean time per call. Run it from two
checkouts alternately to compare them (it imports the checkout it lives in).
"""
import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def cases():
    import torch
    from gru4rec_fast import ops
    d, n = 4, 8
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    vx, h, Wrz, Wh = r(1, 3 * d), r(1, d), r(d, 2 * d), r(d, d)
    W, b, Y, tg = r(n, d), r(n), torch.arange(3), torch.zeros(1, dtype=torch.long)
    S = r(1, 3)
    yield "gru_step", lambda: ops.gru_step(vx, h, Wrz, Wh), (vx, h)
    yield "sampled_scores", lambda: ops.sampled_scores(h, W, b, Y), (h, W, b)
    yield "fused_loss", lambda: ops.fused_loss(S, "bpr-max", "elu-0.5"), (S,)
    yield "eval_rank_counts", lambda: ops.eval_rank_counts(h, W, b, tg, final_act="elu-0.5"), ()


def per_call_us(fn, calls, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t0) / calls * 1e6)
    return min(out), statistics.median(out), max(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    fmt = lambda s: f"{s[0]:6.1f} / {s[1]:6.1f} / {s[2]:6.1f}"  # noqa: E731
    for name, fn, grad_inputs in cases():
        fn()  # loads the extension, warms up
        with torch.no_grad():
            t_nograd = per_call_us(fn, args.calls, args.repeats)
        t_plain = per_call_us(fn, args.calls, args.repeats)
        line = f"{name:18s} no_grad {fmt(t_nograd)} us   grad on, no input needs grad {fmt(t_plain)} us"
        if grad_inputs:
            for t in grad_inputs:
                t.requires_grad_(True)
            line += f"   inputs need grad {fmt(per_call_us(fn, args.calls, args.repeats))} us"
            for t in grad_inputs:
                t.requires_grad_(False)
        print(line, flush=True)


if __name__ == "__main__":
    main()
