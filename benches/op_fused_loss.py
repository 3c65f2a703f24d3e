"""Benchmark cases of fused_loss: one forward+backward of the plain-PyTorch reference
(activation, loss, autograd) against the fused op, at the published best setups'
shapes (B x (B + 2048 samples))."""
import pathlib
import sys

import torch

# benches/ops.py puts only benches/ on sys.path; make the checkout importable too.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gru4rec_fast.ops import reference
from gru4rec_fast.ops.fused_loss import fused_loss_fwd_bwd

# (label, B, N, loss, final_act, bpreg, with logQ offset)
SETUPS = [
    ("RetailRocket", 80, 2128, "bpr-max", "elu-0.5", 1.95, False),
    ("RSC15", 32, 2080, "bpr-max", "elu-0.5", 1.0, False),
    ("Diginetica-like", 32, 2080, "bpr-max", "elu-1", 0.9, False),
    ("RSC15", 32, 2080, "cross-entropy", "softmax", 0.0, True),
    ("Rees46", 240, 2288, "cross-entropy", "softmax", 0.0, True),
    # the other losses and activations, at the RSC15 shape (one row loop each)
    ("RSC15-shape", 32, 2080, "xe_logit", "softmax_logit", 0.0, True),
    ("RSC15-shape", 32, 2080, "bpr", "tanh", 0.0, False),
    ("RSC15-shape", 32, 2080, "top1", "relu", 0.0, False),
    ("RSC15-shape", 32, 2080, "top1-max", "linear", 0.0, False),
    ("RSC15-shape", 32, 2080, "bpr-max", "selu-1.0507-1.6733", 1.0, False),
]


def cases(device):
    for label, B, N, loss, act, bpreg, logq in SETUPS:
        g = torch.Generator().manual_seed(0)
        scores = torch.randn(B, N, generator=g).to(device)
        off = torch.log(torch.rand(N, generator=g) * 1000 + 1).to(device) if logq else None
        kw = dict(col_offset=off, bpreg=bpreg, scale=1.0 / B)

        def fused(scores=scores, loss=loss, act=act, kw=kw):
            return fused_loss_fwd_bwd(scores, loss, act, **kw)

        def ref(scores=scores, loss=loss, act=act, kw=kw):
            return reference.fused_loss_fwd_bwd(scores, loss, act, **kw)

        def check(fused=fused, ref=ref):
            (v, g), (rv, rg) = fused(), ref()
            torch.testing.assert_close(v, rv, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(g, rg, rtol=1e-3, atol=1e-6)

        yield {"op": "fused_loss", "shape": f"{label} {B}x{N} {loss} {act}", "fused": fused,
               "reference": ref, "check": check}
