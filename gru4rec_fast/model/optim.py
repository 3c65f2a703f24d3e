"""Optimiser of the dense weights (docs/algorithm.md, Optimisers), the same update rules as the
row-sparse kernel ``gru4rec_fast.ops.sparse_row_update_`` applies to the item tables.

With g the gradient:
    sgd:      u = g
    adagrad:  s1 += g^2;                                  u = g / sqrt(s1 + eps)
    rmsprop:  s1 = rho s1 + (1-rho) g^2;                  u = g / sqrt(s1 + eps)
    adam:     s2 = b1 s2 + (1-b1) g;  s1 = b2 s1 + (1-b2) g^2;  t += 1
              u = (s2 / (1-b1^t)) / (sqrt(s1 / (1-b2^t)) + eps)
    adadelta: s1 = rho s1 + (1-rho) g^2;  u = g sqrt(s2+eps) / sqrt(s1+eps);
              s2 = rho s2 + (1-rho) u^2
    L2 (lmbd > 0), outside the adaptive scaling as in the original: u += lmbd p
    momentum > 0: v = m v - lr u;  p += v      else: p -= lr u
"""
import torch

from gru4rec_fast.ops import enums

class DenseState:
    """Optimiser state of one dense tensor (allocated only as the optimiser needs)."""

    def __init__(self, param, adapt, momentum):
        z = lambda: torch.zeros_like(param)  # noqa: E731
        used = enums.state_tensors(adapt, momentum)
        self.s1 = z() if "s1" in used else None
        self.s2 = z() if "s2" in used else None
        self.v = z() if "velocity" in used else None
        self.t = 0


def dense_update_(p, g, st, adapt, lr, momentum=0.0, lmbd=0.0, eps=1e-6, adapt_params=(0.0, 0.0)):
    """One optimiser step on the dense tensor p, in place (see the module doc)."""
    rho, beta2 = adapt_params
    if adapt == "sgd":
        u = g
    elif adapt == "adagrad":
        st.s1.addcmul_(g, g)
        u = g / torch.sqrt(st.s1 + eps)
    elif adapt == "rmsprop":
        st.s1.mul_(rho).addcmul_(g, g, value=1 - rho)
        u = g / torch.sqrt(st.s1 + eps)
    elif adapt == "adam":
        st.t += 1
        st.s2.mul_(rho).add_(g, alpha=1 - rho)
        st.s1.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        u = (st.s2 / (1 - rho ** st.t)) / (torch.sqrt(st.s1 / (1 - beta2 ** st.t)) + eps)
    elif adapt == "adadelta":
        st.s1.mul_(rho).addcmul_(g, g, value=1 - rho)
        u = g * torch.sqrt(st.s2 + eps) / torch.sqrt(st.s1 + eps)
        st.s2.mul_(rho).addcmul_(u, u, value=1 - rho)
    else:  # pragma: no cover - validated earlier
        raise ValueError(f"unknown optimizer {adapt!r}; valid: {', '.join(enums.OPTIMIZERS)}")
    if lmbd:
        u = u + lmbd * p        # outside the accumulators (see the module doc)
    if momentum > 0:
        st.v.mul_(momentum).sub_(u, alpha=lr)
        p.add_(st.v)
    else:
        p.sub_(u, alpha=lr)
    return p
