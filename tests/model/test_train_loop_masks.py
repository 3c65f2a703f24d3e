"""The C++ loop's dropout masks (TrainLoop::mask in csrc/train_loop.cpp, one pass over
the uniform draws on the CPU) bit for bit equal to the reference step's
``(rand < keep).to(dtype).div_(keep)``: one step's new hidden state is rebuilt from the
same draws with the public ops and compared with torch.equal. keep = 0.85 is a value
where 1/keep rounded from double differs from 1/keep computed in float32, so a mask
scaled in the wrong precision fails here."""
import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.data import SessionDataset
from gru4rec_fast.model import network
from gru4rec_fast.model.backends import make_step
from gru4rec_fast.model.training import EpochTensors
from gru4rec_fast.ops.gru_step import gru_step_fwd
from model_helpers import tiny

P_EMBED, P_HIDDEN, D, SEED = 0.3, 0.15, 16, 5


def reference_mask(gen, rows, cols, p_drop, dtype):
    """The reference step's mask (gru4rec_fast/model/backends.py, ReferenceStep.mask)."""
    keep = 1.0 - p_drop
    return (torch.rand(rows, cols, generator=gen, dtype=dtype) < keep).to(dtype).div_(keep)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_loop_dropout_masks_equal_the_reference_bitwise(dtype):
    model = GRU4Rec(seed=3, layers=[D], batch_size=16, n_sample=0, n_epochs=1,
                    dropout_p_embed=P_EMBED, dropout_p_hidden=P_HIDDEN,
                    constrained_embedding=True)
    ds = SessionDataset.from_events(tiny()[0])
    w = network.init_weights(model.hyper, ds.n_items, seed=3, dtype=dtype)
    w0 = {k: v.clone() for k, v in w.items()}  # the step updates w in place
    step = make_step("fused", model, w, ds.supports, torch.Generator().manual_seed(SEED))
    epoch = EpochTensors.from_schedule(ds.schedule(16, min_slots=1), "cpu")
    a, b = int(epoch.offsets[0]), int(epoch.offsets[1])
    X, T, B = epoch.ins[a:b], epoch.outs[a:b], b - a
    g = torch.Generator().manual_seed(11)
    h = torch.rand(B, D, generator=g, dtype=dtype) * 2 - 1
    reset = torch.rand(B, generator=g) < 0.3
    _, Hn = step.loop.step(X, T, reset, torch.empty(0, dtype=torch.long), [h])

    gen = torch.Generator().manual_seed(SEED)  # the loop's draws, in its order
    m_embed = reference_mask(gen, B, w0["Wy"].shape[1], P_EMBED, dtype)
    m_hidden = reference_mask(gen, B, D, P_HIDDEN, dtype)
    assert 0 < int((m_hidden == 0).sum()) < m_hidden.numel()  # both kinds of element occur
    x = w0["Wy"][X] * m_embed
    vx = torch.addmm(w0["b.0"], x, w0["Wx.0"])
    out, _ = gru_step_fwd(vx, h, w0["Wrz.0"], w0["Wh.0"], reset=reset, keep_mask=m_hidden)
    assert torch.equal(Hn[0], out)
