"""The C++ training loop (csrc/train_loop.cpp, the fused backend) held to the reference
backend step by step over the settings the step branches on, chunking invariance, and
its argument errors."""
import numpy as np
import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.data import SampleStore, SessionDataset
from gru4rec_fast.model import network
from gru4rec_fast.model.backends import make_step
from gru4rec_fast.model.training import EpochTensors, run_epoch
from model_helpers import tiny

STEPS = 60
STORE = 20_000

# Each case switches on a branch of the step: dropout (both masks), the gradient cap,
# the two other embedding modes, two layers, every optimiser with momentum and L2,
# smoothing, the other losses.
CASES = {
    "dropout": dict(dropout_p_embed=0.3, dropout_p_hidden=0.2, constrained_embedding=True),
    "grad_cap": dict(grad_cap=0.05, constrained_embedding=True),
    "separate+2layers": dict(constrained_embedding=False, embedding=12, layers=[16, 12],
                             dropout_p_hidden=0.1),
    "none(one-hot)": dict(constrained_embedding=False, embedding=0, dropout_p_hidden=0.1),
    "adam+lmbd": dict(adapt="adam", learning_rate=0.01, lmbd=1e-3, constrained_embedding=True),
    "rmsprop+momentum": dict(adapt="rmsprop", learning_rate=0.01, momentum=0.3,
                             constrained_embedding=True),
    "adadelta": dict(adapt="adadelta", learning_rate=1.0, constrained_embedding=True),
    "sgd+momentum": dict(adapt="sgd", learning_rate=0.5, momentum=0.5, constrained_embedding=True),
    "xe_logit+smoothing": dict(loss="xe_logit", final_act="softmax_logit", smoothing=0.1,
                               constrained_embedding=True),
    "top1-max+selu": dict(loss="top1-max", final_act="linear", hidden_act="selu-1.05-1.67"),
    "bpr+no-samples": dict(loss="bpr", final_act="linear", n_sample=0),
}


def _run(backend, max_steps=STEPS, **kw):
    params = dict(layers=[16], batch_size=16, n_sample=48, n_epochs=1, loss="bpr-max",
                  final_act="elu-0.5")
    params.update(kw)
    losses = []
    m = GRU4Rec(backend=backend, dtype="float64", seed=7, **params)
    m.fit(tiny()[0], max_steps=max_steps, verbose=False, sample_store_size=STORE,
          on_step=lambda e, t, loss: losses.append(float(loss)))
    return np.array(losses), m


@pytest.mark.parametrize("kw", list(CASES.values()), ids=list(CASES))
def test_loop_matches_reference_per_step(kw):
    ref, mr = _run("reference", **kw)
    fused, mf = _run("fused", **kw)
    assert len(fused) == len(ref) == STEPS
    np.testing.assert_allclose(fused, ref, rtol=0, atol=1e-7)
    for k in mr.weights:
        torch.testing.assert_close(mf.weights[k], mr.weights[k], rtol=1e-6, atol=1e-9, msg=k)


@pytest.mark.slow
def test_loop_matches_reference_over_a_whole_epoch():
    # The epoch's tail shrinks the batch (shrink steps re-row the hidden state).
    kw = dict(batch_size=64, n_sample=0, dropout_p_hidden=0.1, momentum=0.2)
    ref, mr = _run("reference", max_steps=None, **kw)
    fused, mf = _run("fused", max_steps=None, **kw)
    assert len(fused) == len(ref) > 100
    np.testing.assert_allclose(fused, ref, rtol=0, atol=1e-7)
    for k in mr.weights:
        torch.testing.assert_close(mf.weights[k], mr.weights[k], rtol=1e-6, atol=1e-9, msg=k)


def _epoch_setup(store_steps=50, **kw):
    params = dict(layers=[16], batch_size=16, n_sample=32, n_epochs=1, dropout_p_hidden=0.2,
                  constrained_embedding=True)
    params.update(kw)
    model = GRU4Rec(seed=3, **params)
    ds = SessionDataset.from_events(tiny()[0])
    w = network.init_weights(model.hyper, ds.n_items, seed=3)
    gen = torch.Generator().manual_seed(3)
    step = make_step("fused", model, w, ds.supports, gen)
    sched = ds.schedule(16, min_slots=1)
    epoch = EpochTensors.from_schedule(sched, "cpu")
    H = [torch.zeros(int(sched.n_live[0]), 16)]
    store = SampleStore(ds.supports, 32, 0.75, 32 * store_steps, seed=3)
    return step, epoch, sched, H, store, w


def _record_chunks(step):
    """Wrap step.run to record the (t0, t1) of each call."""
    calls, run = [], step.run

    def recording(epoch, t0, t1, S, H):
        calls.append((t0, t1))
        return run(epoch, t0, t1, S, H)
    step.run = recording
    return calls


@pytest.mark.parametrize("chunk", [1, 7, 128])
def test_chunking_does_not_change_training(chunk):
    # One sample-store block covers the whole epoch, so `chunk` alone decides how the
    # steps are split into C++ calls (a smaller block would cap every chunk size).
    n_steps = _epoch_setup()[2].n_steps
    step, epoch, sched, H, store, w = _epoch_setup(store_steps=n_steps + 1)
    calls = _record_chunks(step)
    total, _ = run_epoch(step, epoch, sched.n_steps, H, store, chunk_steps=chunk)
    assert [b - a for a, b in calls[:-1]] == [chunk] * (len(calls) - 1)
    assert len(calls) == -(-n_steps // chunk) and calls[-1][1] == n_steps
    step2, epoch2, sched2, H2, store2, w2 = _epoch_setup(store_steps=n_steps + 1)
    calls2 = _record_chunks(step2)
    total2, _ = run_epoch(step2, epoch2, sched2.n_steps, H2, store2, chunk_steps=n_steps)
    assert calls2 == [(0, n_steps)]
    assert float(total) == float(total2)
    for k in w:
        assert torch.equal(w[k], w2[k]), k


def test_store_blocks_cap_the_chunks():
    # With 50-step store blocks a chunk never crosses a block boundary.
    step, epoch, sched, H, store, w = _epoch_setup(store_steps=50)
    calls = _record_chunks(step)
    run_epoch(step, epoch, sched.n_steps, H, store, chunk_steps=128)
    assert all(b - a <= 50 and a // 50 == (b - 1) // 50 for a, b in calls)
    assert calls[-1][1] == sched.n_steps


def test_run_checks_its_arguments():
    step, epoch, sched, H, store, w = _epoch_setup()
    loop = step.loop
    with pytest.raises(RuntimeError, match="offsets must be an int64 CPU tensor"):
        loop.run(epoch.ins, epoch.outs, epoch.resets, epoch.prev, epoch.offsets[:3],
                 epoch.shrink, torch.empty(0, dtype=torch.long), 0, 5, H)
    with pytest.raises(RuntimeError, match="samples must be int64"):
        loop.run(epoch.ins, epoch.outs, epoch.resets, epoch.prev, epoch.offsets, epoch.shrink,
                 torch.zeros(3, 32, dtype=torch.long), 0, 5, H)
    with pytest.raises(RuntimeError, match="expected 1 hidden states"):
        loop.run(epoch.ins, epoch.outs, epoch.resets, epoch.prev, epoch.offsets, epoch.shrink,
                 torch.empty(0, dtype=torch.long), 0, 5, H + H)


@pytest.mark.cuda
@pytest.mark.parametrize("kw", [CASES["dropout"], CASES["separate+2layers"]], ids=["dropout", "separate+2layers"])
def test_loop_on_cuda_matches_reference_on_cuda(kw):
    # the same C++ loop, its kernels on the GPU; the reference backend on the GPU too
    runs = {}
    for backend in ("reference", "fused"):
        params = dict(layers=[16], batch_size=16, n_sample=48, n_epochs=1, loss="bpr-max",
                      final_act="elu-0.5", **kw)
        losses = []
        m = GRU4Rec(backend=backend, dtype="float64", seed=7, device="cuda", **params)
        m.fit(tiny()[0], max_steps=STEPS, verbose=False, sample_store_size=STORE,
              on_step=lambda e, t, loss: losses.append(float(loss)))
        runs[backend] = (np.array(losses), m)
    np.testing.assert_allclose(runs["fused"][0], runs["reference"][0], rtol=0, atol=1e-7)
    for k, w in runs["reference"][1].weights.items():
        torch.testing.assert_close(runs["fused"][1].weights[k], w, rtol=1e-6, atol=1e-9, msg=k)


@pytest.mark.cuda_emu
@pytest.mark.parametrize("kw", [CASES["dropout"], CASES["separate+2layers"], CASES["adam+lmbd"],
                                CASES["xe_logit+smoothing"]],
                         ids=["dropout", "separate+2layers", "adam+lmbd", "xe_logit+smoothing"])
def test_loop_on_emulated_cuda_matches_reference(kw):
    """The C++ loop with its CUDA kernels, on the CPU emulation (conftest routes
    gru4rec_fast._C to it for `cuda_emu` tests), held to the reference backend like the
    CPU loop: the CUDA path of train_loop.cpp (no argument checks of the public ops, its
    own reset / hidden-state handling and update calls) runs in CI."""
    import cuda_emu
    ref, mr = _run("reference", max_steps=30, **kw)
    launches = cuda_emu.module().stats()["launches"]
    fused, mf = _run("fused", max_steps=30, **kw)
    assert cuda_emu.module().stats()["launches"] > launches + 30 * 8  # the kernels ran emulated
    assert len(fused) == len(ref) == 30
    np.testing.assert_allclose(fused, ref, rtol=0, atol=1e-7)
    for k in mr.weights:
        torch.testing.assert_close(mf.weights[k], mr.weights[k], rtol=1e-6, atol=1e-9, msg=k)


def _fresh_step(dropout=0.0):
    return _epoch_setup(dropout_p_hidden=dropout)


def test_step_treats_empty_reset_as_none_and_accepts_strided_hidden():
    """What the public gru_step op does and the loop used to skip: an empty reset means
    "no reset" (it was read out of bounds), a hidden state need not be contiguous, and a
    reset of the wrong dtype or length is refused."""
    results = []
    for variant in ("all_false", "empty", "strided"):
        step, epoch, sched, H, store, w = _fresh_step()
        a, b = int(epoch.offsets[0]), int(epoch.offsets[1])
        X, T = epoch.ins[a:b], epoch.outs[a:b]
        B = X.shape[0]
        h0 = torch.randn(B, 16, generator=torch.Generator().manual_seed(1), dtype=w["Wy"].dtype)
        S = torch.empty(0, dtype=torch.long)
        reset = torch.zeros(B, dtype=torch.bool)
        if variant == "empty":
            reset = torch.empty(0, dtype=torch.bool)
        h = h0
        if variant == "strided":
            h = torch.empty(16, B, dtype=h0.dtype).t()  # same values, column-major
            h.copy_(h0)
            assert not h.is_contiguous()
        loss, Hn = step.loop.step(X, T, reset, S, [h])
        results.append((float(loss), Hn[0].clone()))
    for loss, Hn in results[1:]:
        assert loss == results[0][0]
        assert torch.equal(Hn, results[0][1])
    step, epoch, sched, H, store, w = _fresh_step()
    a, b = int(epoch.offsets[0]), int(epoch.offsets[1])
    X, T, B = epoch.ins[a:b], epoch.outs[a:b], b - a
    h = torch.zeros(B, 16, dtype=w["Wy"].dtype)
    S = torch.empty(0, dtype=torch.long)
    with pytest.raises(RuntimeError, match="reset flags must be bool or uint8"):
        step.loop.step(X, T, torch.zeros(B, dtype=torch.float32), S, [h])
    with pytest.raises(RuntimeError, match="one flag per row"):
        step.loop.step(X, T, torch.zeros(B + 1, dtype=torch.bool), S, [h])
    with pytest.raises(RuntimeError, match="hidden state 0 must be B x d"):
        step.loop.step(X, T, torch.zeros(B, dtype=torch.bool), S, [h[:-1]])
