"""fit's on_epoch_end hook: called once per epoch with the epoch's average loss, stops
training on a true return value, lets the callback's exceptions out, and evaluating the
model inside it leaves training unchanged."""
import numpy as np
import pytest

from gru4rec_fast import GRU4Rec, evaluate
from model_helpers import tiny

PARAMS = dict(layers=[16], batch_size=32, n_sample=32, n_epochs=3, loss="bpr-max",
              final_act="elu-0.5")
STORE = 20_000


def _fit(train, **kw):
    m = GRU4Rec(seed=5, **PARAMS)
    m.fit(train, verbose=False, sample_store_size=STORE, **kw)
    return m


def test_called_once_per_epoch_with_the_epoch_loss():
    train, test = tiny()
    calls = []
    m = _fit(train, on_epoch_end=lambda e, loss: calls.append((e, loss)))
    assert [e for e, _ in calls] == [0, 1, 2]
    assert [loss for _, loss in calls] == m.epoch_losses_


def test_true_return_stops_after_that_epoch():
    train, _ = tiny()
    seen = []
    m = _fit(train, on_epoch_end=lambda e, loss: seen.append(e) or e == 1)
    assert seen == [0, 1]
    assert len(m.epoch_losses_) == 2


def test_exception_leaves_fit():
    train, _ = tiny()

    class Stop(Exception):
        pass

    def cb(e, loss):
        if e == 0:
            raise Stop()

    with pytest.raises(Stop):
        _fit(train, on_epoch_end=cb)


def test_evaluating_inside_the_hook_does_not_change_training():
    train, test = tiny()
    plain = _fit(train)
    probed = GRU4Rec(seed=5, **PARAMS)
    metrics = []
    probed.fit(train, verbose=False, sample_store_size=STORE, on_epoch_end=lambda e, loss:
               metrics.append(evaluate(probed, test, cutoffs=(5,))["recall"][5]))
    assert len(metrics) == 3
    np.testing.assert_array_equal(probed.epoch_losses_, plain.epoch_losses_)
    for k in plain.weights:
        assert (probed.weights[k] == plain.weights[k]).all(), k
    assert metrics[-1] == evaluate(plain, test, cutoffs=(5,))["recall"][5]
