"""Training: fused vs reference parity, every loss / activation / optimiser / embedding
mode trains and beats popularity, NaN detection, determinism, row-sparse updates."""
import numpy as np
import pytest
import torch

from gru4rec_fast import GRU4Rec, TrainingDivergedError, evaluate
from gru4rec_fast.data import DataError
from gru4rec_fast.model import network
from model_helpers import popularity_recall, tiny

# every test here trains a model
pytestmark = pytest.mark.slow

PARITY_STEPS = 200
SMALL_STORE = 50_000     # the 10M default store takes longer to draw than tiny's epoch


def _losses(backend, train, **kw):
    losses = []
    m = GRU4Rec(backend=backend, dtype="float64", n_epochs=1, seed=3, **kw)
    m.fit(train, max_steps=PARITY_STEPS, verbose=False, sample_store_size=SMALL_STORE,
          on_step=lambda e, t, loss: losses.append(float(loss)))
    return np.array(losses), m


@pytest.mark.parametrize("kw", [
    dict(loss="bpr-max", final_act="elu-0.5", bpreg=1.0),
    dict(loss="cross-entropy", final_act="softmax", logq=1.0),
], ids=["bpr-max-elu-0.5", "xe-softmax-logq"])
def test_fused_matches_reference_per_step(kw):
    train, _ = tiny()
    common = dict(layers=[32], batch_size=32, n_sample=128, constrained_embedding=True,
                  momentum=0.1, **kw)
    ref, mr = _losses("reference", train, **common)
    fused, mf = _losses("fused", train, **common)
    assert len(ref) == len(fused) == PARITY_STEPS
    np.testing.assert_allclose(fused, ref, rtol=0, atol=1e-6)
    for k in mr.weights:
        torch.testing.assert_close(mf.weights[k], mr.weights[k], rtol=1e-6, atol=1e-8, msg=k)


POP = {}


def _trains_and_beats_popularity(epochs=2, **kw):
    train, test = tiny()
    if "pop" not in POP:
        POP["pop"] = popularity_recall(train, test, 20)
    params = dict(layers=[48], batch_size=32, n_sample=128, n_epochs=epochs,
                  constrained_embedding=True, loss="bpr-max", final_act="elu-0.5")
    params.update(kw)
    m = GRU4Rec(seed=1, **params)
    m.fit(train, verbose=False, sample_store_size=SMALL_STORE)
    assert all(np.isfinite(m.epoch_losses_))
    r = evaluate(m, test, cutoffs=(20,))["recall"][20]
    assert r > POP["pop"] + 0.02, (r, POP["pop"], kw)
    return m


@pytest.mark.parametrize("loss, act", [("cross-entropy", "softmax"), ("xe_logit", "softmax_logit"),
                                       ("bpr", "linear"), ("bpr-max", "elu-1"), ("top1", "linear"),
                                       ("top1-max", "linear")])
def test_each_loss_trains(loss, act):
    _trains_and_beats_popularity(loss=loss, final_act=act, logq=1.0 if loss == "cross-entropy" else 0.0)


@pytest.mark.parametrize("final_act, hidden_act", [("relu", "relu"), ("leaky-0.1", "leaky-0.1"),
                                                   ("elu-0.5", "elu-1"), ("tanh", "linear"),
                                                   ("selu-1.05-1.67", "selu-1.05-1.67")])
def test_each_activation_family_trains(final_act, hidden_act):
    _trains_and_beats_popularity(final_act=final_act, hidden_act=hidden_act)


@pytest.mark.parametrize("adapt, lr", [("sgd", 3.0), ("rmsprop", 0.01), ("adam", 0.01),
                                       ("adadelta", 1.0)])
def test_each_optimizer_trains(adapt, lr):
    # adagrad is the default of every other training test
    _trains_and_beats_popularity(adapt=adapt, learning_rate=lr)


@pytest.mark.parametrize("kw", [dict(constrained_embedding=False, embedding=32),
                                dict(constrained_embedding=False, embedding=0),
                                dict(constrained_embedding=False, embedding="layersize")],
                         ids=["separate", "none", "layersize"])
def test_each_embedding_mode_trains(kw):
    _trains_and_beats_popularity(**kw)


def test_everything_at_once_trains():
    _trains_and_beats_popularity(layers=[32, 48], dropout_p_embed=0.2, dropout_p_hidden=0.1,
                                 momentum=0.3, grad_cap=2.0, train_random_order=True, lmbd=1e-5,
                                 n_sample=0, smoothing=0.0)


def test_nan_stops_training_naming_the_epoch():
    train, _ = tiny()
    m = GRU4Rec(layers=[8], n_sample=16, n_epochs=2, sigma=1e30)
    with pytest.raises(TrainingDivergedError, match="NaN in epoch 1"):
        m.fit(train, verbose=False, sample_store_size=SMALL_STORE)


def test_deterministic_under_seed():
    train, _ = tiny()
    kw = dict(layers=[16], n_sample=32, n_epochs=1, dropout_p_hidden=0.2, dropout_p_embed=0.2,
              constrained_embedding=True, train_random_order=True)
    a = GRU4Rec(seed=5, **kw).fit(train, max_steps=40, verbose=False, sample_store_size=SMALL_STORE)
    b = GRU4Rec(seed=5, **kw).fit(train, max_steps=40, verbose=False, sample_store_size=SMALL_STORE)
    c = GRU4Rec(seed=6, **kw).fit(train, max_steps=40, verbose=False, sample_store_size=SMALL_STORE)
    for k in a.weights:
        assert torch.equal(a.weights[k], b.weights[k]), k
    assert not torch.equal(a.weights["Wy"], c.weights["Wy"])


@pytest.mark.parametrize("backend", ["fused", "reference"])
@pytest.mark.parametrize("mode", ["shared", "separate", "none"])
def test_only_used_rows_change(backend, mode):
    """One step without extra samples: rows of items outside the step's inputs and
    targets keep their initial values (row-sparse updates)."""
    train, _ = tiny()
    kw = {"shared": dict(constrained_embedding=True), "separate": dict(embedding=8),
          "none": dict()}[mode]
    m = GRU4Rec(layers=[8], n_sample=0, n_epochs=1, backend=backend, **kw)
    m.fit(train, max_steps=1, verbose=False)
    init = network.init_weights(m.hyper, m.n_items, seed=m.seed)
    from gru4rec_fast.data import SessionDataset
    ds = SessionDataset.from_events(train)
    sched = ds.schedule(32, min_slots=2)
    ins, outs, _, _ = sched.step(0)
    unused = np.setdiff1d(np.arange(m.n_items), np.union1d(ins, outs))
    for k in ("Wy", "By", "E", "Wx0"):
        if k in m.weights:
            assert torch.equal(m.weights[k][unused], init[k][unused]), k
            assert not torch.equal(m.weights[k], init[k]), k


def test_fit_bad_inputs():
    train, _ = tiny()
    with pytest.raises(TypeError, match="DataFrame, a file path or a SessionDataset"):
        GRU4Rec().fit([1, 2, 3])
    with pytest.raises(DataError, match="missing column 'ItemId'"):
        GRU4Rec().fit(train.rename(columns={"ItemId": "Item"}))
    with pytest.raises(ValueError, match="sample_store_size must be an integer >= 0"):
        GRU4Rec().fit(train, sample_store_size=-5)
    with pytest.raises(DataError, match="no such file"):
        GRU4Rec().fit("/nonexistent/train.tsv")


def test_adadelta_trains_with_learning_rate_one():
    # Issue 11, item 3: the original forces learning_rate 1.0 for adadelta; another rate
    # warns and is ignored, so both runs give the same weights.
    train, _ = tiny()
    kw = dict(adapt="adadelta", layers=[16], batch_size=16, n_sample=32, n_epochs=1)
    set_other = GRU4Rec(seed=2, learning_rate=0.05, **kw)
    assert any("adadelta trains with learning_rate 1.0" in w for w in set_other.warnings)
    assert not GRU4Rec(seed=2, **kw).warnings            # the default rate: no warning
    assert not GRU4Rec(seed=2, learning_rate=1.0, **kw).warnings
    runs = [GRU4Rec(seed=2, learning_rate=lr, **kw).fit(train, verbose=False, max_steps=30,
                                                        sample_store_size=SMALL_STORE)
            for lr in (0.05, 1.0)]
    for k in runs[0].weights:
        assert torch.equal(runs[0].weights[k], runs[1].weights[k]), k
    # and adagrad does use the rate it is given
    a, b = (GRU4Rec(seed=2, learning_rate=lr, **dict(kw, adapt="adagrad")).fit(
        train, verbose=False, max_steps=30, sample_store_size=SMALL_STORE) for lr in (0.05, 1.0))
    assert not torch.equal(a.weights["Wy"], b.weights["Wy"])
