"""gru_step benchmark cases: one GRU layer step, forward + backward (all four input
gradients), fused autograd op vs the plain-PyTorch reference under autograd, at the
published setups' shapes. A third row per shape times the raw fused kernels without the
autograd machinery (what a hand-written training loop would call), and a fourth the
GEMMs alone (the same 2 + 4 BLAS/cuBLAS calls with no element-wise work), to show
where the time goes."""
import math

import torch

from gru4rec_fast.ops import reference
from gru4rec_fast.ops.gru_step import gru_step, gru_step_bwd, gru_step_fwd

# (B, d, dropout keep probability or None): RSC15 (100/32), RetailRocket (224/80, hidden
# dropout 0.05), Rees46 (512/240).
SHAPES = [(32, 100, None), (80, 224, 0.95), (240, 512, None)]
ACT = "tanh"


def _inputs(B, d, keep, device, dtype=torch.float32):
    g = torch.Generator().manual_seed(B * 1000 + d)
    bound = math.sqrt(6.0 / (2 * d))
    vx = torch.randn(B, 3 * d, generator=g)
    h = torch.rand(B, d, generator=g) * 2 - 1
    Wrz = (torch.rand(d, 2 * d, generator=g) * 2 - 1) * bound
    Wh = (torch.rand(d, d, generator=g) * 2 - 1) * bound
    reset = torch.rand(B, generator=g) < 0.1
    mask = None if keep is None else (torch.rand(B, d, generator=g) < keep).float() / keep
    dout = torch.randn(B, d, generator=g)
    mv = lambda t: None if t is None else t.to(device, dtype if t.is_floating_point() else t.dtype)
    return [mv(t) for t in (vx, h, Wrz, Wh, reset, mask, dout)]


def cases(device):
    for B, d, keep in SHAPES:
        vx, h, Wrz, Wh, reset, mask, dout = _inputs(B, d, keep, device)
        leaves = [t.clone().requires_grad_() for t in (vx, h, Wrz, Wh)]
        label = f"B={B} d={d}" + (f" drop={1 - keep:.2f}" if keep else "")

        def fwd_bwd(fn, leaves=leaves, reset=reset, mask=mask, dout=dout):
            out = fn(*leaves, reset=reset, keep_mask=mask, act=ACT)
            return torch.autograd.grad(out, leaves, dout)

        def fused(fwd_bwd=fwd_bwd):
            return fwd_bwd(gru_step)

        def ref(fwd_bwd=fwd_bwd):
            return fwd_bwd(reference.gru_step)

        def check(fwd_bwd=fwd_bwd):
            for a, b in zip(fwd_bwd(gru_step), fwd_bwd(reference.gru_step)):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)

        def raw(vx=vx, h=h, Wrz=Wrz, Wh=Wh, reset=reset, mask=mask, dout=dout):
            out, saved = gru_step_fwd(vx, h, Wrz, Wh, reset, mask, ACT)
            return gru_step_bwd(dout, saved, Wrz, Wh, reset, mask, ACT)

        def gemms_only(vx=vx, h=h, Wrz=Wrz, Wh=Wh, dout=dout, d=d):
            # Exactly the GEMMs the fused op issues, on stand-in operands.
            rz = torch.addmm(vx[:, d:], h, Wrz)
            c = torch.addmm(vx[:, :d], h, Wh)
            dhr = dout @ Wh.t()
            dWh = h.t() @ dout
            dWrz = h.t() @ rz
            dh = torch.addmm(dhr, rz, Wrz.t())
            return c, dWh, dWrz, dh

        yield {"op": "gru_step fwd+bwd", "shape": label, "fused": fused, "reference": ref,
               "check": check}
        yield {"op": "gru_step raw fwd+bwd", "shape": label, "fused": raw, "reference": ref}
        yield {"op": "gru_step GEMMs only", "shape": label, "fused": gemms_only, "reference": ref}
