"""benches/gemm_floor.py holds the same matrix products as one fused CPU training step:
the GEMMs recorded under the C++ loop's g4r:: phases in one step of fit equal, as a
multiset of (kind, M x K . K x N) shapes, the products of step_products for that step,
for every embedding mode and two layers."""
import collections
import pathlib
import sys

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from gru4rec_fast import GRU4Rec
from gru4rec_fast.data import synthetic
from gru4rec_fast.model import network

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benches"))
from gemm_floor import floor_seconds_per_step, step_products  # noqa: E402

GEMMS = ("aten::mm", "aten::addmm", "aten::addmm_")


def gemm_shapes(events, under_phase):
    """Multiset of (M, K, N) of the outermost GEMM calls among profiler events (below a
    g4r:: phase when under_phase)."""
    out = collections.Counter()
    for ev in events:
        if ev.name not in GEMMS:
            continue
        parent, phase = ev.cpu_parent, False
        while parent is not None:
            if parent.name in GEMMS:      # an addmm calling mm inside: counted once
                break
            phase = phase or parent.name.startswith("g4r::")
            parent = parent.cpu_parent
        if parent is not None or (under_phase and not phase):
            continue
        # mm(a, b[, out]); addmm(bias, a, b, beta, alpha[, out]); addmm_(self, a, b, ...)
        a, b = ev.input_shapes[0:2] if ev.name == "aten::mm" else ev.input_shapes[1:3]
        out[(a[0], a[1], b[1])] += 1
    return out


@pytest.mark.parametrize("extra", [
    dict(constrained_embedding=True, embedding=0),     # shared
    dict(constrained_embedding=False, embedding=5),    # separate
    dict(constrained_embedding=False, embedding=0),    # none (one-hot input)
])
def test_floor_products_are_the_steps_products(extra):
    batch, n_sample, layers = 4, 7, [8, 6]
    df = synthetic.generate(400, 40, seed=0)
    model = GRU4Rec(layers=layers, batch_size=batch, n_sample=n_sample, n_epochs=1, seed=0,
                    dropout_p_hidden=0.1, **extra)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        model.fit(df, max_steps=1, verbose=False)
    step = gemm_shapes(prof.events(), under_phase=True)
    assert sum(step.values()) > 0, "no GEMM recorded under the g4r:: phases"

    weights = network.init_weights(model.hyper, model.n_items, seed=0)
    ops = step_products(weights, layers, network.embedding_mode(model.hyper), batch, n_sample)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _, fn in ops:
            fn()
    assert gemm_shapes(prof.events(), under_phase=False) == step
    assert floor_seconds_per_step(ops, seconds=0.01, rounds=2, warmup=2) > 0


def test_step_products_rejects_bad_sizes():
    weights = {"Wy": torch.zeros(10, 4), "Wh.0": torch.zeros(4, 4), "Wrz.0": torch.zeros(4, 8),
               "Wx.0": torch.zeros(4, 12)}
    with pytest.raises(ValueError, match="batch must be >= 1"):
        step_products(weights, [4], "shared", 0, 5)
