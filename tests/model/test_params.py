"""Hyperparameters: reference names and defaults, string parsing, validation messages,
parameter files, initialisation order."""
import json

import numpy as np
import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.model import network, params as P
from gru4rec_fast.cli.train import CLIError, read_parameter_file

SPEC_DEFAULTS = dict(loss="bpr-max", final_act="linear", hidden_act="tanh", layers=[100],
                     n_epochs=10, batch_size=32, dropout_p_hidden=0.0, dropout_p_embed=0.0,
                     learning_rate=0.1, momentum=0.0, lmbd=0.0, embedding=0, n_sample=2048,
                     sample_alpha=0.75, smoothing=0.0, constrained_embedding=False,
                     adapt="adagrad", grad_cap=0.0, bpreg=1.0, logq=0.0, sigma=0.0,
                     init_as_normal=False, train_random_order=False, time_sort=True)


def test_defaults_are_the_reference_ones():
    m = GRU4Rec()
    for k, v in SPEC_DEFAULTS.items():
        assert m.hyper[k] == v, k
        assert getattr(m, k) == v
    assert set(SPEC_DEFAULTS) | {"adapt_params"} == set(m.hyper)


def test_param_string_like_run_py():
    m = GRU4Rec()
    m.set_params("layers=100/100,loss=cross-entropy,final_act=softmax,constrained_embedding=True,"
                 "n_sample=0,dropout_p_embed=0.25,adapt=adam,adapt_params=0.8/0.99,embedding=layersize")
    assert m.layers == [100, 100]
    assert m.loss == "cross-entropy" and m.final_act == "softmax"
    assert m.constrained_embedding is True and m.n_sample == 0
    assert m.dropout_p_embed == 0.25 and m.adapt == "adam" and m.adapt_params == [0.8, 0.99]
    assert m.embedding == "layersize"
    m.set_params(constrained_embedding="False", time_sort=0, adapt=False)
    assert m.constrained_embedding is False and m.time_sort is False and m.adapt == "sgd"


def test_kwargs_and_elu_param():
    m = GRU4Rec(layers=[64], elu_param=0.5, batch_size="48")
    assert m.final_act == "elu-0.5" and m.batch_size == 48
    assert GRU4Rec(elu_param=0).final_act == "linear"
    assert GRU4Rec(elu_param="1").final_act == "elu-1"


@pytest.mark.parametrize("kw, msg", [
    (dict(foo=1), "unknown hyperparameter 'foo'; valid: loss, final_act"),
    (dict(loss="bprmax"), "valid: cross-entropy, xe_logit, bpr, bpr-max, top1, top1-max"),
    (dict(final_act="elu"), "needs 1 numeric parameter"),
    (dict(final_act="gelu"), "unknown activation 'gelu'; valid: linear"),
    (dict(hidden_act="softmax"), "final activation only"),
    (dict(layers="100/x"), "'layers': expected an integer"),
    (dict(layers=[]), "at least one layer"),
    (dict(layers="0"), "must be >= 1"),
    (dict(batch_size=0), "must be >= 1"),
    (dict(batch_size=2.5), "expected an integer"),
    (dict(dropout_p_hidden=1.0), "must be < 1.0"),
    (dict(learning_rate=-1), "must be >= 0.0"),
    (dict(momentum="abc"), "expected a number"),
    (dict(embedding="big"), "expected 0 (none), a size k > 0 or 'layersize'"),
    (dict(adapt="adamw"), "valid: sgd, adagrad, rmsprop, adam, adadelta"),
    (dict(constrained_embedding="maybe"), "expected True/False"),
    (dict(adapt_params="1/2/3"), "at most 2 values"),
    (dict(elu_param=-1), "must be >= 0.0"),
])
def test_bad_values_are_rejected_with_valid_ones(kw, msg):
    with pytest.raises(ValueError) as e:
        GRU4Rec(**kw)
    assert msg in str(e.value)


def test_bad_param_string_and_constructor_args():
    with pytest.raises(ValueError, match="expected name=value"):
        GRU4Rec().set_params("loss")
    with pytest.raises(ValueError, match="valid: fused, reference"):
        GRU4Rec(backend="cuda")
    with pytest.raises(ValueError, match="valid: float32, float64"):
        GRU4Rec(dtype="half")


def test_combination_warnings():
    assert GRU4Rec(loss="cross-entropy").warnings
    assert not GRU4Rec(loss="cross-entropy", final_act="softmax").warnings


def test_parameter_file_python_literal_only(tmp_path):
    f = tmp_path / "p.py"
    f.write_text("from collections import OrderedDict\n"
                 "gru4rec_params = OrderedDict([('loss', 'bpr-max'), ('final_act', 'elu-0.5'), "
                 "('layers', [224]), ('batch_size', 80), ('constrained_embedding', True)])\n")
    items = read_parameter_file(str(f))
    assert items[0] == ("loss", "bpr-max") and ("layers", [224]) in items
    m = GRU4Rec()
    for k, v in items:
        m.set_params(**{k: v})
    assert m.layers == [224] and m.batch_size == 80
    # executable code is never run: a call inside the dict is refused
    bad = tmp_path / "bad.py"
    bad.write_text("import os\ngru4rec_params = OrderedDict([('loss', os.getcwd())])\n")
    with pytest.raises(CLIError, match="literal values"):
        read_parameter_file(str(bad))
    none = tmp_path / "none.py"
    none.write_text("params = {}\n")
    with pytest.raises(CLIError, match="no assignment 'gru4rec_params"):
        read_parameter_file(str(none))
    j = tmp_path / "p.json"
    j.write_text(json.dumps({"loss": "top1-max", "layers": [32, 32]}))
    assert read_parameter_file(str(j)) == [("loss", "top1-max"), ("layers", [32, 32])]
    with pytest.raises(CLIError, match="no such file"):
        read_parameter_file(str(tmp_path / "nope.py"))


def test_example_parameter_files_parse():
    import glob
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "params")
    files = sorted(glob.glob(os.path.join(root, "*.py")))
    assert len(files) >= 6
    for f in files:
        m = GRU4Rec()
        for k, v in read_parameter_file(f):
            m.set_params(**{k: v})
        assert m.constrained_embedding and m.n_sample == 2048


def _block(rng, shape):
    s = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.rand(*shape) * s * 2 - s


@pytest.mark.parametrize("mode", ["shared", "separate", "none"])
def test_init_reference_order_seed_42(mode):
    kw = {"shared": dict(constrained_embedding=True), "separate": dict(embedding=5),
          "none": dict()}[mode]
    m = GRU4Rec(layers=[4, 3], **kw)
    p = m.hyper
    n = 11
    w = network.init_weights(p, n, seed=42, dtype=torch.float64)
    rng = np.random.RandomState(42)
    exp = {}
    if mode == "separate":
        exp["E"] = _block(rng, (n, 5))
    in_size = {"shared": 3, "separate": 5, "none": n}[mode]
    for l, d in enumerate([4, 3]):
        wx = np.hstack([_block(rng, (in_size, d)) for _ in range(3)])
        exp["Wx0" if (l == 0 and mode == "none") else f"Wx.{l}"] = wx
        exp[f"Wh.{l}"] = _block(rng, (d, d))
        exp[f"Wrz.{l}"] = np.hstack([_block(rng, (d, d)) for _ in range(2)])
        exp[f"b.{l}"] = np.zeros(3 * d)
        in_size = d
    exp["Wy"] = _block(rng, (n, 3))
    exp["By"] = np.zeros(n)
    assert set(w) == set(exp) == set(network.expected_shapes(p, n))
    for k in exp:
        np.testing.assert_array_equal(w[k].numpy(), exp[k], err_msg=k)


def test_init_sigma_and_normal():
    m = GRU4Rec(layers=[8], sigma=0.01)
    w = network.init_weights(m.hyper, 50)
    assert float(w["Wy"].abs().max()) <= 0.01
    m.set_params(init_as_normal=True)
    w2 = network.init_weights(m.hyper, 50)
    assert float(w2["Wy"].abs().max()) > 0.01 * 1.0 or float(w2["Wy"].std()) > 0.005
