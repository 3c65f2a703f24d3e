"""Hyperparameters: reference names and defaults, string parsing, validation messages,
parameter files, initialisation order."""
import json

import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.model import network
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


# Values of network.init_weights(seed=42, float64, layers [4, 3], 11 items), computed once
# (2026-11-29) with the reference's numpy-seeded order and checked then against a
# line-by-line numpy re-derivation: (shape, first two values, last value, sum) per weight.
# Biases are zeros. A change of the init order or scale changes these.
INIT_SEED_42 = {
    "shared": {
        "Wx.0": ((3, 12), (-0.23230655937237465, 0.8345607282586898), 0.5710409272055446, -2.362778718251184),
        "b.0": ((12,), (0.0, 0.0), 0.0, 0.0),
        "Wh.0": ((4, 4), (-0.33841887889110234, -0.696852339842722), 0.47654402889132363, -1.1830616796307378),
        "Wrz.0": ((4, 8), (0.7612344966619204, 0.6838610311584892), -0.7559391118437858, -1.5395225371314587),
        "Wx.1": ((4, 9), (-0.34999273153596333, -0.3236975884862061), 0.07284767667124725, 0.1872767829875065),
        "b.1": ((9,), (0.0, 0.0), 0.0, 0.0),
        "Wh.1": ((3, 3), (0.6148803103281251, 0.7921825998469865), -0.9860957389376186, -0.05534542906935669),
        "Wrz.1": ((3, 6), (0.021494605155131463, -0.16517799370244202), 0.2191286679597937, -1.250542522410027),
        "Wy": ((11, 3), (0.0035076647813722106, -0.5872521637694403), -0.4745964889391747, -2.120487430110002),
        "By": ((11,), (0.0, 0.0), 0.0, 0.0),
    },
    "separate": {
        "E": ((11, 5), (-0.15365634600709105, 0.5520100352383619), 0.11990249695822175, -1.2576428149786003),
        "Wx.0": ((5, 12), (0.6889177409557496, -0.6719889302014619), 0.2178474221473512, -4.104582145527143),
        "b.0": ((12,), (0.0, 0.0), 0.0, 0.0),
        "Wh.0": ((4, 4), (0.6433886152146482, 0.5259754660292293), -0.1430483386924608, 1.2021983787145254),
        "Wrz.0": ((4, 8), (-0.4813233912912552, -0.6584124974945932), 0.23128024335784625, -1.1734929389221005),
        "Wx.1": ((4, 9), (0.06624184315884885, -0.7586359319321254), 0.7167447838674621, 0.08367939519064249),
        "b.1": ((9,), (0.0, 0.0), 0.0, 0.0),
        "Wh.1": ((3, 3), (0.5597510917152477, 0.2840632923085755), 0.3270035382161116, -1.1063410342420783),
        "Wrz.1": ((3, 6), (-0.9898768323075626, -0.6783838971650027), -0.5120207132418328, -2.001182018933345),
        "Wy": ((11, 3), (0.6193161919046102, -0.13996793390788032), 0.09173160434619743, 3.813133375298772),
        "By": ((11,), (0.0, 0.0), 0.0, 0.0),
    },
    "none": {
        "Wx0": ((11, 12), (-0.15869559176654618, 0.5701135129113454), -0.35150890515347477, -3.9518309169866255),
        "b.0": ((12,), (0.0, 0.0), 0.0, 0.0),
        "Wh.0": ((4, 4), (-0.6584124974945932, -0.2812587735072799), 0.0046402043470453735, -0.472604532697653),
        "Wrz.0": ((4, 8), (-0.7768615911092572, -0.3833955703772035), -0.6278321414187366, -2.8097814035018063),
        "Wx.1": ((4, 9), (-0.2942879334557307, -0.7157079662595416), -0.48652015205808297, 0.40669638413163933),
        "b.1": ((9,), (0.0, 0.0), 0.0, 0.0),
        "Wh.1": ((3, 3), (-0.34920060368146455, 0.4929828102360483), -0.4695952646365491, 0.046523694047501785),
        "Wrz.1": ((3, 6), (-0.5120207132418328, 0.9460211095048912), 0.829728780440897, 2.709542075773512),
        "Wy": ((11, 3), (-0.17000216697453613, -0.6344162092132798), 0.001985295765700501, 4.249447567369562),
        "By": ((11,), (0.0, 0.0), 0.0, 0.0),
    },
}


@pytest.mark.parametrize("mode", ["shared", "separate", "none"])
def test_init_reference_order_seed_42(mode):
    kw = {"shared": dict(constrained_embedding=True), "separate": dict(embedding=5),
          "none": dict()}[mode]
    p = GRU4Rec(layers=[4, 3], **kw).hyper
    w = network.init_weights(p, 11, seed=42, dtype=torch.float64)
    want = INIT_SEED_42[mode]
    assert set(w) == set(want) == set(network.expected_shapes(p, 11))
    for k, (shape, first2, last, total) in want.items():
        f = w[k].flatten().tolist()
        assert tuple(w[k].shape) == shape, k
        assert (f[0], f[1], f[-1]) == (*first2, last), k
        assert float(w[k].sum()) == pytest.approx(total, rel=1e-12, abs=1e-15), k
        if k.startswith("b.") or k == "By":
            assert not w[k].any(), k


def test_init_sigma_and_normal():
    m = GRU4Rec(layers=[8], sigma=0.01)
    w = network.init_weights(m.hyper, 50)
    assert float(w["Wy"].abs().max()) <= 0.01
    m.set_params(init_as_normal=True)
    w2 = network.init_weights(m.hyper, 50)
    assert float(w2["Wy"].abs().max()) > 0.01 * 1.0 or float(w2["Wy"].std()) > 0.005
