"""The optimiser state of a model, one layout for both backends, saved with the model.

``state[name]`` for every weight is a dict of four tensors (an unused one is empty):

    s1        same shape as the weight   adagrad/rmsprop/adadelta: mean (sum) of g^2; adam: v
    s2        same shape as the weight   adam: m; adadelta: mean of u^2
    velocity  same shape as the weight   momentum > 0
    steps     (rows,)                    adam: updates applied to each row, where rows is
                                         n_items for the item tables, shape[0] for a 2-D
                                         dense weight and 1 for a bias (b.l)

This is exactly the state the fused loop (csrc/train_loop.cpp) updates (there in the 2-D
views of ``as_train_loop_states``) and the one the reference backend updates (through
``sparse_row_state`` / ``dense_state``), so a model can continue training on either
backend. The formulas are in ``gru4rec_fast.model.optim``.
"""

from gru4rec_fast.model import huge_pages, network
from gru4rec_fast.model.optim import DenseState
from gru4rec_fast.ops import enums
from gru4rec_fast.ops.sparse_row_update import SparseRowState

KEYS = enums.STATE_NAMES


def _rows(name, w):
    if name in network.SPARSE_NAMES or w.dim() == 2:
        return w.shape[0]
    return 1


def needed(adapt, momentum):
    """The state tensors ``adapt`` with ``momentum`` uses (a subset of KEYS)."""
    return enums.state_tensors(adapt, momentum)


def new_state(weights, adapt, momentum):
    """Zero optimiser state for ``weights`` (see the module doc); that of the item
    tables on huge pages, like the tables (``model.huge_pages``)."""
    need = needed(adapt, momentum)
    out = {}
    for k, w in weights.items():
        if k in network.SPARSE_NAMES:
            zeros = lambda shape: huge_pages.zeros(shape, w.dtype, w.device)  # noqa: E731
        else:
            zeros = lambda shape: w.new_zeros(shape)  # noqa: E731
        out[k] = {s: (w.new_empty(0) if s not in need
                      else zeros((_rows(k, w),) if s == "steps" else tuple(w.shape)))
                  for s in KEYS}
    return out


def check_state(state, weights, adapt, momentum, what):
    """Raise ValueError naming the first tensor of ``state`` that does not fit the
    weights or the optimiser (``adapt``, ``momentum``)."""
    if set(state) != set(weights):
        raise ValueError(f"{what}: optimiser state for {sorted(state)} but weights {sorted(weights)}")
    need = needed(adapt, momentum)
    for k, w in weights.items():
        st = state[k]
        if set(st) != set(KEYS):
            raise ValueError(f"{what}: optimiser state of {k} has {sorted(st)}, expected {list(KEYS)}")
        for s in KEYS:
            t = st[s]
            if s not in need:
                if t.numel():
                    raise ValueError(f"{what}: optimiser state {k}.{s} is not used by adapt={adapt}, "
                                     f"momentum={momentum} (the state was made for another optimiser)")
                continue
            shape = (_rows(k, w),) if s == "steps" else tuple(w.shape)
            if tuple(t.shape) != shape:
                raise ValueError(f"{what}: optimiser state {k}.{s} has shape {tuple(t.shape)}, expected "
                                 f"{shape} for adapt={adapt}, momentum={momentum} (the state was made "
                                 "for another optimiser or catalogue)")


def as_train_loop_states(state, weights):
    """name -> [s1, s2, velocity, steps] in the 2-D views the fused loop updates (item
    tables row by row, By as n x 1; dense weights as one matrix, b.l as 1 x 3d); views,
    so the loop's updates land in ``state``."""
    out = {}
    for k, w in weights.items():
        if w.dim() == 2:
            view = lambda t: t  # noqa: E731
        elif k in network.SPARSE_NAMES:
            view = lambda t: t.view(-1, 1) if t.numel() else t  # noqa: E731
        else:
            view = lambda t: t.view(1, -1) if t.numel() else t  # noqa: E731
        st = state[k]
        # in KEYS order, the order the loop takes them (kStateNames); steps stays 1-D
        out[k] = [st[s] if s == "steps" else view(st[s]) for s in KEYS]
    return out


def sparse_row_state(st, weight, adapt, momentum):
    """A SparseRowState over the tensors of ``st`` (no copy)."""
    # built for a 0-row twin of the weight (nothing to allocate), then pointed at st
    r = SparseRowState(weight.new_empty((0,) + tuple(weight.shape[1:])), adapt, momentum)
    r.state1, r.state2, r.velocity, r.step_count = st["s1"], st["s2"], st["velocity"], st["steps"]
    return r


def dense_state(st, weight, adapt, momentum):
    """A DenseState over the tensors of ``st`` (no copy); its step count t is read from
    ``steps`` here and must be written back after each update (``steps.fill_(t)``)."""
    d = DenseState(weight, adapt, momentum)
    d.s1 = st["s1"] if st["s1"].numel() else None
    d.s2 = st["s2"] if st["s2"].numel() else None
    d.v = st["velocity"] if st["velocity"].numel() else None
    d.t = int(st["steps"][0]) if st["steps"].numel() else 0
    return d
