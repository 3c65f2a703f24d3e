"""save/load round trip and recommend()'s per-session state."""
import os

import numpy as np
import pytest
import torch

from gru4rec_fast import GRU4Rec, evaluate
from gru4rec_fast.model.forward import forward_step
from gru4rec_fast.model.persistence import FORMAT_VERSION
from model_helpers import tiny


def _trained(string_ids=False, **kw):
    train, test = tiny()
    if string_ids:
        train["ItemId"] = "item-" + train["ItemId"].astype(str)
        test["ItemId"] = "item-" + test["ItemId"].astype(str)
    params = dict(layers=[16], n_sample=32, n_epochs=1, constrained_embedding=True)
    params.update(kw)
    m = GRU4Rec(seed=2, **params)
    m.fit(train, max_steps=50, verbose=False, sample_store_size=50_000)
    return m, train, test


@pytest.mark.parametrize("string_ids", [False, True], ids=["int-ids", "str-ids"])
@pytest.mark.parametrize("kw", [dict(), dict(constrained_embedding=False, embedding=8, layers=[8, 12]),
                                dict(constrained_embedding=False, final_act="softmax",
                                     loss="cross-entropy")], ids=["shared", "separate-2layer", "none"])
def test_save_load_round_trip(tmp_path, string_ids, kw):
    m, _, test = _trained(string_ids, **kw)
    path = tmp_path / "model.pt"
    m.save(path)
    assert os.listdir(tmp_path) == ["model.pt"]          # the temp file was renamed away
    raw = torch.load(path, weights_only=True)            # plain data only, no pickled objects
    assert raw["format_version"] == FORMAT_VERSION and raw["hyperparameters"]["layers"] == m.layers
    m2 = GRU4Rec.load(path)
    assert m2.hyper == m.hyper and m2.seed == m.seed
    assert list(m2.item_index.ids) == list(m.item_index.ids)
    for k in m.weights:
        assert torch.equal(m.weights[k], m2.weights[k]), k
    assert evaluate(m2, test, cutoffs=(5, 20)) == evaluate(m, test, cutoffs=(5, 20))
    sess = ["a", "b"]
    items = list(m.item_index.ids[:2])
    ids1, s1 = m.recommend(sess, items, k=10)
    ids2, s2 = m2.recommend(sess, items, k=10)
    assert isinstance(ids1, np.ndarray) and isinstance(s1, np.ndarray)
    assert (ids1 == ids2).all() and np.array_equal(s1, s2)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        GRU4Rec.load(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a gru4rec_fast model file"):
        GRU4Rec.load(junk)
    other = tmp_path / "other.pt"
    torch.save({"a": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a gru4rec_fast model file"):
        GRU4Rec.load(other)
    with pytest.raises(RuntimeError, match="not trained"):
        GRU4Rec().save(tmp_path / "x.pt")


def test_load_rejects_other_version_and_bad_shapes(tmp_path):
    m, _, _ = _trained()
    p = tmp_path / "m.pt"
    m.save(p)
    d = torch.load(p, weights_only=True)
    d["format_version"] = 99
    torch.save(d, tmp_path / "v99.pt")
    with pytest.raises(ValueError, match="format version 99"):
        GRU4Rec.load(tmp_path / "v99.pt")
    d["format_version"] = 1
    d["weights"]["Wy"] = d["weights"]["Wy"][:, :3]
    torch.save(d, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="weight Wy has shape"):
        GRU4Rec.load(tmp_path / "bad.pt")


def test_recommend_state_handling():
    m, train, _ = _trained()
    ids = m.item_index.ids
    seq = [ids[3], ids[10], ids[7]]
    # a session fed event by event, interleaved with another session ...
    for i, it in enumerate(seq):
        top_a, sc_a = m.recommend(["A"], [it], k=5)
        m.recommend(["B"], [ids[i + 20]], k=5)
    # ... equals the hidden state computed directly
    X = torch.as_tensor(m.item_index.map_items(np.asarray(seq)), dtype=torch.long)
    H = [torch.zeros(1, d) for d in m.layers]
    for x in X:
        H = forward_step(m.weights, m.hyper, x.view(1), H)
    logits = H[-1] @ m.weights["Wy"].T + m.weights["By"]
    best = torch.topk(logits[0], 5).indices.numpy()
    assert list(top_a[0]) == list(ids[best])
    torch.testing.assert_close(torch.from_numpy(sc_a[0]), logits[0, best])
    # a new id starts from zero: same as a fresh model state
    fresh, _ = m.recommend(["C"], [seq[-1]], k=5)
    m.forget(["A"])
    again, _ = m.recommend(["A"], [seq[-1]], k=5)
    assert list(fresh[0]) == list(again[0])
    # batch of sessions at once; candidates restrict the result
    cand = list(ids[:50])
    top, sc = m.recommend(["D", "E"], [ids[1], ids[2]], k=50, candidates=cand)
    assert top.shape == (2, 50) and set(top[0]) == set(cand)
    assert (sc[:, :-1] >= sc[:, 1:]).all()
    top, _ = m.recommend(["F"], [ids[1]], k=10 ** 6)
    assert top.shape == (1, m.n_items)
    m.forget()
    assert not m._sessions


def test_recommend_bad_inputs():
    with pytest.raises(RuntimeError, match="not trained"):
        GRU4Rec().recommend(["a"], [1])
    m, _, _ = _trained()
    ok = m.item_index.ids[0]
    with pytest.raises(ValueError, match="2 session ids but 1 item ids"):
        m.recommend(["a", "b"], [ok])
    with pytest.raises(ValueError, match="unknown to the model"):
        m.recommend(["a"], [10 ** 9])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        m.recommend(["a"], [ok], k=0)
    with pytest.raises(ValueError, match="appears more than once"):
        m.recommend(["a", "a"], [ok, ok])
    with pytest.raises(ValueError, match="no sessions given"):
        m.recommend([], [])
    with pytest.raises(ValueError, match="candidates.*unknown"):
        m.recommend(["a"], [ok], candidates=[10 ** 9])
