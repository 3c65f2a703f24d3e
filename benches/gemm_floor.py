"""The GEMM floor of one fused training step: exactly the step's matrix products, at the
step's shapes, layouts (transposed views, column-block views) and thread count, in a
tight loop with nothing else around them.

The list mirrors the CPU step (csrc/train_loop.cpp ``TrainLoop::step`` and the GRU
kernels of csrc/cpu/gru_step_cpu.cpp); per step, with B sessions, N = B + n_sample scored
items, d the layer width and d_in its input width:

    forward, per layer      vx   = b + x . Wx            B x d_in . d_in x 3d  (not layer 0 of mode "none")
                            rz   = vx[:, d:] + h0 . Wrz  B x d . d x 2d
                            c    = vx[:, :d] + hr . Wh   B x d . d x d
    sampled scores          S^T  = b[Y] + W[Y] . x^T     N x d . d x B
    output backward         dH   = dS . W[Y]             B x N . N x d
                            dW[Y] rows = dS^T . x        N x B . B x d
    backward, per layer     dhr  = dpre_c . Wh^T         B x d . d x d
                            dWh  = hr^T . dpre_c         d x B . B x d
                            dWrz = h0^T . dpre_rz        d x B . B x 2d
                            dWx  = x^T . dvx             d_in x B . B x 3d    (not layer 0 of mode "none")
                            dx   = dvx . Wx^T            B x 3d . 3d x d_in   (not layer 0 of mode "none")

Outputs are preallocated (``out=``), so the floor holds no allocation; each product is
one Python call into ATen (about 2-4 us each, i.e. 1-3% of an RSC15 step), which the
fused step, calling from C++, does not pay: the floor is slightly pessimistic.
tests/model/test_gemm_floor.py holds this list to the C++ loop: the GEMM shapes
recorded by torch.profiler under one step's g4r:: phases must equal these products'
(every embedding mode, two layers); if the step's products change, change the list.
The hidden state's own gradient (dh += dpre_rz . Wrz^T) is not among them: the step
back-propagates one time step and drops dh, so its CPU kernel skips that product (the
CUDA step still computes it: on a GPU this floor lacks one small product per layer).
"""
import time

import torch


def step_products(weights, layers, mode, batch, n_sample, seed=0):
    """The step's GEMMs as a list of (name, zero-argument callable), on random inputs of
    the step's shapes on the weights' device and dtype.

    weights: the dict of ``gru4rec_fast.model.network.init_weights`` (Wx.l / Wx0, Wh.l,
    Wrz.l, Wy); layers: the layer widths; mode: "shared", "separate" or "none"
    (``network.embedding_mode``); batch: B; n_sample: the shared negative samples."""
    if batch < 1 or n_sample < 0:
        raise ValueError(f"batch must be >= 1 and n_sample >= 0, got {batch}, {n_sample}")
    Wy = weights["Wy"]
    g = torch.Generator(device=Wy.device).manual_seed(seed)
    rand = lambda *shape: torch.rand(*shape, generator=g, device=Wy.device, dtype=Wy.dtype)
    B, N = batch, batch + n_sample
    ops = []
    # forward
    fwd = []                          # per layer: (x, h0, hr, vx, dvx) for the backward
    x = rand(B, Wy.size(1) if mode == "shared" else
             (weights["E"].size(1) if mode == "separate" else 0))
    for l, d in enumerate(layers):
        Wh, Wrz = weights[f"Wh.{l}"], weights[f"Wrz.{l}"]
        h0, hr = rand(B, d), rand(B, d)
        vx = rand(B, 3 * d)
        rz, c = torch.empty(B, 2 * d, dtype=Wy.dtype, device=Wy.device), torch.empty(B, d, dtype=Wy.dtype, device=Wy.device)
        has_wx = not (l == 0 and mode == "none")
        if has_wx:
            Wx, b = weights[f"Wx.{l}"], rand(3 * d)
            ops.append((f"vx.{l}", lambda b=b, x=x, Wx=Wx, vx=vx: torch.addmm(b, x, Wx, out=vx)))
        ops.append((f"rz.{l}", lambda vx=vx, h0=h0, Wrz=Wrz, rz=rz, d=d:
                    torch.addmm(vx.narrow(1, d, 2 * d), h0, Wrz, out=rz)))
        ops.append((f"c.{l}", lambda vx=vx, hr=hr, Wh=Wh, c=c, d=d:
                    torch.addmm(vx.narrow(1, 0, d), hr, Wh, out=c)))
        fwd.append((x, h0, hr, has_wx))
        x = rand(B, d)
    # sampled scores and the output layer's backward
    WyY, ByY = rand(N, Wy.size(1)), rand(N)
    St = torch.empty(N, B, dtype=Wy.dtype, device=Wy.device)
    ops.append(("scores", lambda: torch.addmm(ByY.unsqueeze(1).expand(N, B), WyY, x.t(), out=St)))
    dS = rand(B, N)
    dH, gWyY = torch.empty(B, Wy.size(1), dtype=Wy.dtype, device=Wy.device), torch.empty_like(WyY)
    ops.append(("dH", lambda: torch.mm(dS, WyY, out=dH)))
    ops.append(("dW[Y]", lambda: torch.mm(dS.t(), x, out=gWyY)))
    # backward, last layer first
    for l in reversed(range(len(layers))):
        d = layers[l]
        x_in, h0, hr, has_wx = fwd[l]
        Wh, Wrz = weights[f"Wh.{l}"], weights[f"Wrz.{l}"]
        dvx = rand(B, 3 * d)
        dpre_c, dpre_rz = dvx.narrow(1, 0, d), dvx.narrow(1, d, 2 * d)
        dhr = torch.empty(B, d, dtype=Wy.dtype, device=Wy.device)
        dWh, dWrz = torch.empty_like(Wh), torch.empty_like(Wrz)
        ops.append((f"dhr.{l}", lambda a=dpre_c, Wh=Wh, o=dhr: torch.mm(a, Wh.t(), out=o)))
        ops.append((f"dWh.{l}", lambda hr=hr, a=dpre_c, o=dWh: torch.mm(hr.t(), a, out=o)))
        ops.append((f"dWrz.{l}", lambda h0=h0, a=dpre_rz, o=dWrz: torch.mm(h0.t(), a, out=o)))
        if has_wx:
            Wx = weights[f"Wx.{l}"]
            dWx, dx = torch.empty_like(Wx), torch.empty_like(x_in)
            ops.append((f"dWx.{l}", lambda x_in=x_in, a=dvx, o=dWx: torch.mm(x_in.t(), a, out=o)))
            ops.append((f"dx.{l}", lambda a=dvx, Wx=Wx, o=dx: torch.mm(a, Wx.t(), out=o)))
    return ops


def floor_seconds_per_step(ops, seconds=2.0, rounds=5, warmup=20, sync=lambda: None):
    """Median over ``rounds`` rounds (``seconds`` in all) of the seconds per step of a
    tight loop over ``ops`` (the callables of :func:`step_products`)."""
    fns = [fn for _, fn in ops]

    def one_step():
        for fn in fns:
            fn()

    for _ in range(warmup):
        one_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(warmup):
        one_step()
    sync()
    per = max((time.perf_counter() - t0) / warmup, 1e-7)
    n = max(1, int(seconds / rounds / per))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            one_step()
        sync()
        times.append((time.perf_counter() - t0) / n)
    return sorted(times)[len(times) // 2]


def product_seconds(ops, reps=200, sync=lambda: None):
    """Median seconds of each product on its own: [(name, seconds)] (for a breakdown)."""
    out = []
    for name, fn in ops:
        for _ in range(10):
            fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        out.append((name, sorted(times)[len(times) // 2]))
    return out
