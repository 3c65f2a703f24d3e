"""One convention for activation derivatives at exactly 0, on every kernel: the negative
side's formula, as torch's autograd (relu 0, leaky a, elu a, selu a*b), in fused_loss
(final activation) and gru_step (hidden activation), on CPU and on the CUDA kernels
(csrc/common/activations.h holds the formulas both CUDA kernels use)."""
import pytest
import torch

from support import DEVICES

from gru4rec_fast.ops import reference
from gru4rec_fast.ops.fused_loss import fused_loss_fwd_bwd
from gru4rec_fast.ops.gru_step import gru_step

KINKED = ["relu", "leaky-0.1", "elu-0.5", "selu-1.05-1.67"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", KINKED)
def test_fused_loss_derivative_at_zero(act, device):
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(5, 9, generator=g, dtype=torch.float64)
    scores[:, ::2] = 0.0  # exact zeros, the positives among them
    scores = scores.to(device)
    value, grad = fused_loss_fwd_bwd(scores, "bpr-max", act, bpreg=0.5, scale=0.2)
    v_ref, g_ref = reference.fused_loss_fwd_bwd(scores.cpu(), "bpr-max", act, bpreg=0.5, scale=0.2)
    torch.testing.assert_close(value.cpu(), v_ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad.cpu(), g_ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", KINKED)
def test_gru_step_derivative_at_zero(act, device):
    """h = 0 and a zero candidate input: every candidate pre-activation is exactly 0."""
    g = torch.Generator().manual_seed(3)
    B, d = 4, 6
    vx = torch.randn(B, 3 * d, generator=g, dtype=torch.float64)
    vx[:, :d] = 0.0
    h = torch.zeros(B, d, dtype=torch.float64)
    Wrz = torch.randn(d, 2 * d, generator=g, dtype=torch.float64) * 0.3
    Wh = torch.randn(d, d, generator=g, dtype=torch.float64) * 0.3
    dout = torch.randn(B, d, generator=g, dtype=torch.float64)
    res = []
    for fn, dev in ((gru_step, device), (reference.gru_step, "cpu")):
        xs = [t.to(dev).requires_grad_() for t in (vx, h, Wrz, Wh)]
        out = fn(*xs, act=act)
        grads = torch.autograd.grad(out, xs, dout.to(dev))
        res.append([t.detach().cpu() for t in (out, *grads)])
    for a, b in zip(*res):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
