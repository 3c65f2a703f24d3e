"""The no-grad call path of the autograd-aware ops (gru4rec_fast.ops._library.call): when
nothing requires grad the wrappers skip torch.library's Python autograd kernel (which
would redispatch below autograd itself), and give the same results as the recorded path;
when an input requires grad they still record the graph."""
import pytest
import torch

from gru4rec_fast import ops
from support import DEVICES


def _cases(device):
    g = torch.Generator().manual_seed(7)
    d, n, B = 3, 6, 5
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(device)  # noqa: E731
    vx, h, Wrz, Wh = r(B, 3 * d), r(B, d), r(d, 2 * d), r(d, d)
    W, b = r(n, d), r(n)
    Y = torch.tensor([0, 3, 3, 5, 1, 2, 2], device=device)  # duplicate ids
    S = r(B, B + 2)
    reset = (torch.arange(B) % 2 == 0).to(device)
    return [
        ("gru_step", lambda *t: ops.gru_step(*t, reset=reset, act="elu-0.5"), [vx, h, Wrz, Wh]),
        ("sampled_scores", lambda *t: ops.sampled_scores(*t, Y), [h, W, b]),
        ("fused_loss", lambda *t: ops.fused_loss(*t, "bpr-max", "elu-0.5"), [S]),
    ]


class _CountRedispatch:
    """Counts OpOverload.redispatch calls: the Python autograd kernel of
    register_autograd makes one per call when no input requires grad."""

    def __init__(self, monkeypatch):
        self.n = 0
        orig = torch._ops.OpOverload.redispatch

        def counting(op, *args, **kwargs):
            self.n += 1
            return orig(op, *args, **kwargs)
        monkeypatch.setattr(torch._ops.OpOverload, "redispatch", counting)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("grad_mode", ["no_grad", "inputs_without_grad", "inference_mode"])
def test_no_grad_path_skips_python_autograd(device, grad_mode, monkeypatch):
    for name, fn, inputs in _cases(device):
        # The recorded path: inputs that require grad.
        leaves = [t.clone().requires_grad_(True) for t in inputs]
        recorded = fn(*leaves)
        assert recorded.grad_fn is not None, name
        counter = _CountRedispatch(monkeypatch)
        ctx = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode,
               "inputs_without_grad": torch.enable_grad}[grad_mode]
        with ctx():
            direct = fn(*inputs)
        monkeypatch.undo()
        assert counter.n == 0, f"{name}: the Python autograd kernel ran ({counter.n} redispatches)"
        assert not direct.requires_grad, name
        torch.testing.assert_close(direct, recorded.detach(), rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("device", DEVICES)
def test_grad_still_flows_through_the_wrappers(device):
    for name, fn, inputs in _cases(device):
        leaves = [t.clone().requires_grad_(True) for t in inputs]
        out = fn(*leaves)
        out.sum().backward()
        for i, t in enumerate(leaves):
            assert t.grad is not None, f"{name}: input {i} got no gradient"


def test_counter_sees_the_python_autograd_kernel(monkeypatch):
    """The check above can fail: a plain call of the registered operator with grad on
    and no input requiring grad goes through the Python autograd kernel, which the
    counter sees."""
    from gru4rec_fast import _ext
    name, fn, inputs = _cases("cpu")[1]
    counter = _CountRedispatch(monkeypatch)
    _ext.ops().sampled_scores_forward(*inputs, torch.tensor([0, 1]))
    assert counter.n == 1
