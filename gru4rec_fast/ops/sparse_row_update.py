"""Row-sparse optimiser step: sum the gradients of duplicate ids, then update only
those rows of a parameter and its optimiser state, in place.

This is how the item tables (Wy, By, E, Wx0) are trained: their gradients arrive as
(ids, rows) pairs from the sampled ops, and this op writes the optimiser update
straight into the rows. Those tensors are therefore NOT torch.optim parameters:
`optimizer.step()` never touches them, and no dense n_items x d gradient is ever
allocated (docs/algorithm.md, Optimisers; FBGEMM's table-batched embeddings work the same way).
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library
from gru4rec_fast.ops import enums
from gru4rec_fast.ops.enums import resolve_adapt_params


class SparseRowState:
    """Optimiser state of one row-sparse parameter.

    Allocates (zeros, same shape/dtype/device as `param`) only what the optimiser uses;
    everything else is an empty tensor (numel 0):

    =========  ==========================  ==============================
    optimizer  state1                      state2
    =========  ==========================  ==============================
    sgd        empty                       empty
    adagrad    sum of g^2                  empty
    rmsprop    running mean of g^2         empty
    adam       2nd moment (v)              1st moment (m); step_count (n,)
    adadelta   running mean of g^2         running mean of u^2
    =========  ==========================  ==============================

    `velocity` is allocated only when momentum > 0. `step_count` (Adam only) holds one
    step count per row (lazy Adam: a row's bias correction counts the steps in which
    that row was updated), in the parameter's dtype.

    Args:
        param: the parameter, (n,) or (n, d), float32/float64.
        optimizer: "sgd", "adagrad", "rmsprop", "adam" or "adadelta" (or its code).
        momentum: momentum that will be used with this state (> 0 allocates velocity).
    """

    def __init__(self, param, optimizer="adagrad", momentum=0.0):
        self.optimizer = enums.optimizer_code(optimizer)
        self.momentum = float(momentum)
        empty = param.new_empty(0)
        zeros = lambda: torch.zeros_like(param, memory_format=torch.contiguous_format)  # noqa: E731
        used = enums.state_tensors(self.optimizer, self.momentum)
        self.state1 = zeros() if "s1" in used else empty
        self.state2 = zeros() if "s2" in used else empty
        self.step_count = param.new_zeros(param.shape[0]) if "steps" in used else empty
        self.velocity = zeros() if "velocity" in used else empty

    def tensors(self):
        """(state1, state2, velocity, step_count)."""
        return self.state1, self.state2, self.velocity, self.step_count

    def as_2d(self, n):
        """The state tensors viewed as (n, 1) where the parameter is 1-D (empties stay)."""
        view = lambda t: t.view(n, 1) if t.dim() == 1 and t.numel() > 0 else t  # noqa: E731
        return view(self.state1), view(self.state2), view(self.velocity), self.step_count


def sparse_row_update_(param, ids, grads, state, lr, momentum=0.0, lmbd=0.0, eps=1e-6,
                       adapt_params=None, deterministic=True):
    """Apply one optimiser step to the rows `ids` of `param`, in place.

    The gradients of equal ids are summed first (one row, one update); then for each
    unique row, with g = the summed gradient:

        sgd:      u = g
        adagrad:  s1 += g^2;                         u = g / sqrt(s1 + eps)
        rmsprop:  s1 = rho s1 + (1-rho) g^2;         u = g / sqrt(s1 + eps)
        adam:     s2 = b1 s2 + (1-b1) g;  s1 = b2 s1 + (1-b2) g^2;  t = ++step_count[row]
                  u = (s2 / (1-b1^t)) / (sqrt(s1 / (1-b2^t)) + eps)
        adadelta: s1 = rho s1 + (1-rho) g^2;  u = g sqrt(s2+eps) / sqrt(s1+eps);
                  s2 = rho s2 + (1-rho) u^2
        lmbd > 0: u += lmbd param_row   (L2 outside the adaptive scaling: it never
                                          enters an accumulator, as in the original)
        momentum > 0: velocity = momentum velocity - lr u;  param += velocity
        else:         param -= lr u

    Rows not in `ids` (and their state) are not read or written. This op writes the
    parameter directly: torch.optim never touches such parameters.

    Args:
        param: (n, d) or (n,) float32/float64 contiguous tensor, updated in place.
        ids: (M,) int64 row ids in [0, n); duplicates allowed; M may be 0 (no-op).
        grads: (M, d) (or (M,) for a 1-D param) gradient rows, same dtype/device.
        state: SparseRowState of this parameter (its optimiser is the one applied).
        lr, momentum, lmbd, eps: learning rate, momentum, L2 weight, epsilon.
        adapt_params: rho (rmsprop 0.9, adadelta 0.95) or (beta1, beta2) (adam 0.9,
            0.999); None for the defaults.
        deterministic: the CPU and CUDA kernels are deterministic (bit-identical
            across runs) either way; False is accepted for API stability and currently
            takes the same path (an atomics path would not be faster at ~2k ids).
    Returns:
        param.
    """
    if not isinstance(state, SparseRowState):
        raise TypeError(f"sparse_row_update_: state must be a SparseRowState, got {type(state).__name__}")
    if momentum > 0 and state.velocity.numel() == 0 and param.numel() > 0:
        raise ValueError("sparse_row_update_: momentum > 0 but the SparseRowState was created "
                         "without momentum (no velocity); create it with momentum=...")
    p1, p2 = resolve_adapt_params(state.optimizer, adapt_params)
    if param.dim() == 1:
        n = param.shape[0]
        p2d = param.view(n, 1)
        g2d = grads.reshape(grads.shape[0], 1) if grads.dim() == 1 else grads
        s1, s2, vel, steps = state.as_2d(n)
    else:
        p2d, g2d = param, grads
        s1, s2, vel, steps = state.state1, state.state2, state.velocity, state.step_count
    _ext.ops().sparse_row_update_(p2d, ids, g2d, s1, s2, vel, steps, state.optimizer, float(lr),
                                  float(momentum), float(lmbd), float(eps), float(p1), float(p2),
                                  bool(deterministic))
    return param


def register(ns):
    """Fake kernel of sparse_row_update_: it writes in place and returns nothing (the
    schema declares every tensor it may write, param and the four state tensors)."""

    @torch.library.register_fake(f"{ns}::sparse_row_update_")
    def _(param, ids, grads, state1, state2, velocity, step_count, optimizer, lr, momentum,
          lmbd, eps, p1, p2, deterministic):
        _library.same_device("sparse_row_update_", "param", param, ref_first=False, ids=ids,
                             grads=grads)
