"""Where one GRU layer's time goes in the training step, beside its GEMMs, at the published
shapes (issue 15): the raw fused gru_step kernels against their GEMMs alone, the
element-wise ATen passes the step still makes (tanh, sigmoid, a dropout mask as the
three passes lt/to/div that the C++ loop replaced by one), the bias gradient's column
sum, the dense optimiser update of the layer's weights, and the two GEMM fusions that
share an operand (dWx with dWrz: one [x | h0]^T . dvx; dx with dh: dvx against a
stacked weight), each timed separately.

    python benches/gru_layer_budget.py [--threads 1] [--repeats 7]

Each figure is min / median / max microseconds per call over --repeats timed loops.
"""
import argparse
import math
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

# (name, B, d, input width, keep probability of the hidden mask or None): the published
# setups (benches/train.py), shared embedding, so the layer input is d_out = d wide.
SHAPES = [("rsc15", 32, 100, 100, None), ("retailrocket", 80, 224, 224, 0.95)]


def spread(fn, repeats, min_seconds=0.05):
    """(min, median, max) microseconds per call over `repeats` timed loops."""
    for _ in range(20):
        fn()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < min_seconds:
        fn()
        n += 1
    per = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        per.append((time.perf_counter() - t0) / n * 1e6)
    return min(per), statistics.median(per), max(per)


def fmt(s):
    return f"{s[0]:.1f} / {s[1]:.1f} / {s[2]:.1f}"


def rows_for(B, d, d_in, keep, repeats, ops):
    import torch
    g = torch.Generator().manual_seed(B * 1000 + d)
    bound = math.sqrt(6.0 / (2 * d))
    x = torch.randn(B, d_in, generator=g)
    Wx = (torch.rand(d_in, 3 * d, generator=g) * 2 - 1) * bound
    b = torch.zeros(3 * d)
    h = torch.rand(B, d, generator=g) * 2 - 1
    Wrz = (torch.rand(d, 2 * d, generator=g) * 2 - 1) * bound
    Wh = (torch.rand(d, d, generator=g) * 2 - 1) * bound
    reset = torch.rand(B, generator=g) < 0.2
    mask = (torch.rand(B, d, generator=g) < keep).float() / keep if keep else torch.empty(0)
    vx = torch.addmm(b, x, Wx)
    out, *saved = ops.gru_step_forward(vx, h, Wrz, Wh, reset, mask, 0, 0.0, 0.0)
    dout = torch.randn(B, d, generator=g)
    dvx = ops.gru_step_backward(dout, saved, Wrz, Wh, reset, mask, 0, 0.0, 0.0)[0]
    dc, drz = dvx[:, :d], dvx[:, d:]
    W_stacked = torch.zeros(3 * d, d_in + d)  # [Wx^T | [0; Wrz^T]], what a fused dx, dh needs
    u = torch.rand(B, d)
    c, rz = torch.randn(B, d), torch.randn(B, 2 * d)
    R = []
    R.append(("gru_step_forward (raw op)", spread(
        lambda: ops.gru_step_forward(vx, h, Wrz, Wh, reset, mask, 0, 0.0, 0.0), repeats)))
    R.append(("  its 2 GEMMs alone", spread(
        lambda: (torch.addmm(vx[:, d:], h, Wrz), torch.addmm(vx[:, :d], h, Wh)), repeats)))
    R.append(("gru_step_backward (raw op)", spread(
        lambda: ops.gru_step_backward(dout, saved, Wrz, Wh, reset, mask, 0, 0.0, 0.0), repeats)))
    R.append(("  its 4 GEMMs alone", spread(
        lambda: (torch.mm(dc, Wh.t()), torch.mm(h.t(), dc), torch.mm(h.t(), drz),
                 torch.mm(drz, Wrz.t())), repeats)))
    R.append(("input product x.Wx + b", spread(lambda: torch.addmm(b, x, Wx), repeats)))
    R.append(("tanh_ (B x d)", spread(lambda: c.tanh_(), repeats)))
    R.append(("sigmoid_ (B x 2d)", spread(lambda: rz.sigmoid_(), repeats)))
    R.append(("rand (B x d), the mask's draws", spread(lambda: torch.rand(B, d), repeats)))
    R.append(("mask as lt/to/div_ (B x d)", spread(
        lambda: u.lt(0.85).to(torch.float32).div_(0.85), repeats)))
    R.append(("bias gradient dvx.sum(0)", spread(lambda: dvx.sum(0), repeats)))
    R.append(("dWx, dWrz: 2 GEMMs", spread(
        lambda: (torch.mm(x.t(), dvx), torch.mm(h.t(), drz)), repeats)))
    R.append(("dWx, dWrz: 1 GEMM [x|h0]^T.dvx (cat incl.)", spread(
        lambda: torch.mm(torch.cat([x, h], 1).t(), dvx), repeats)))
    R.append(("dx, dh part: 2 GEMMs", spread(
        lambda: (torch.mm(dvx, Wx.t()), torch.mm(drz, Wrz.t())), repeats)))
    R.append(("dx, dh part: 1 GEMM vs stacked weight", spread(
        lambda: torch.mm(dvx, W_stacked), repeats)))
    # The dense weights' Adagrad (+ momentum 0.4 as RetailRocket) through the row kernel
    # with all-row ids, as the loop's update_dense does.
    for name, rows, cols in (("Wx", d_in, 3 * d), ("Wrz", d, 2 * d), ("Wh", d, d)):
        p = torch.randn(rows, cols)
        gr = torch.randn(rows, cols) * 0.01
        s1, v, e = torch.rand(rows, cols), torch.zeros(rows, cols), torch.empty(0)
        ids = torch.arange(rows)
        R.append((f"dense Adagrad+momentum update {name} ({rows}x{cols})", spread(
            lambda p=p, ids=ids, gr=gr, s1=s1, v=v, e=e: ops.sparse_row_update_(
                p, ids, gr, s1, e, v, e, 1, 0.05, 0.4, 0.0, 1e-6, 0.0, 0.0, True), repeats)))
    return R


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    import torch

    from gru4rec_fast import _ext
    from timing import format_table, machine_name
    torch.set_num_threads(args.threads)
    ops = _ext.ops()
    print(f"{machine_name('cpu')}, us per call (min / median / max "
          f"of {args.repeats} loops)\n")
    for name, B, d, d_in, keep in SHAPES:
        rows = rows_for(B, d, d_in, keep, args.repeats, ops)
        print(f"### {name}: B={B} d={d} input {d_in}" + (f" keep {keep}" if keep else ""))
        print(format_table([[n, fmt(s)] for n, s in rows], ["what", "us (min / median / max)"]))
        print()


if __name__ == "__main__":
    main()
