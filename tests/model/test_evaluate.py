"""evaluate() against a brute-force evaluation written here: every tie mode, planted
ties, candidates, batch sizes, test data through the training item index."""
import numpy as np
import pytest
import torch

from gru4rec_fast import GRU4Rec, evaluate
from gru4rec_fast.data import DataError, SessionDataset
from model_helpers import tiny


def _act(x, name):
    if name == "linear":
        return x
    if name == "relu":
        return torch.relu(x)
    if name.startswith("elu-"):
        a = float(name[4:])
        return torch.where(x >= 0, x, a * torch.expm1(x))
    if name == "softmax":
        return x       # ranking by probability = ranking by logit
    raise AssertionError(name)


def brute_force(model, test, cutoffs, mode, items=None):
    """Session by session, all items scored with a dense matrix product."""
    w = {k: v.double() for k, v in model.weights.items()}
    p = model.hyper
    ds = SessionDataset.from_events(test, item_index=model.item_index)
    cand = None
    if items is not None:
        c = model.item_index.map_items(np.asarray(items))
        cand = np.unique(c[c >= 0])
    ranks = []
    for s in range(ds.n_sessions):
        ev = ds.items[ds.offsets[s]:ds.offsets[s + 1]].astype(np.int64)
        hs = [torch.zeros(1, d, dtype=torch.float64) for d in p["layers"]]
        for i in range(len(ev) - 1):
            x = w["Wy"][ev[i]].view(1, -1)
            for l, d in enumerate(p["layers"]):
                v = x @ w[f"Wx.{l}"] + w[f"b.{l}"]
                h = hs[l]
                g = h @ w[f"Wrz.{l}"]
                r = torch.sigmoid(v[:, d:2 * d] + g[:, :d])
                z = torch.sigmoid(v[:, 2 * d:] + g[:, d:])
                c = torch.tanh((h * r) @ w[f"Wh.{l}"] + v[:, :d])
                hs[l] = (1 - z) * h + z * c
                x = hs[l]
            sc = _act(x @ w["Wy"].T + w["By"], p["final_act"])[0]
            t = ev[i + 1]
            st = sc[t]
            others = sc if cand is None else sc[torch.from_numpy(cand)]
            if cand is not None and t in cand:
                others = others[torch.from_numpy(cand) != t]
            elif cand is None:
                others = torch.cat([sc[:t], sc[t + 1:]])
            gt = int((others > st).sum())
            eq = int((others == st).sum())
            if mode == "standard":
                ranks.append(1 + gt)
            elif mode == "conservative":
                ranks.append(gt + eq + 1)
            else:
                ranks.append(1 + gt + 0.5 * eq)
    ranks = np.array(ranks, dtype=np.float64)
    return ({c: float((ranks <= c).mean()) for c in cutoffs},
            {c: float(np.where(ranks <= c, 1 / ranks, 0).mean()) for c in cutoffs}, len(ranks))


def _untrained(final_act="linear", **kw):
    train, test = tiny()
    m = GRU4Rec(layers=[16, 12], constrained_embedding=True, n_epochs=0, final_act=final_act,
                dtype="float64", **kw)
    m.fit(train, verbose=False)     # n_epochs=0: initial weights, item index built
    return m, test


def _plant_ties(m):
    w = m.weights
    # identical rows give exactly equal scores; strongly negative biases give relu zeros
    w["Wy"][1::7] = w["Wy"][0]
    w["By"][::3] = -50.0


@pytest.mark.parametrize("mode", ["standard", "conservative", "median"])
@pytest.mark.parametrize("final_act", ["linear", "relu"])
def test_matches_brute_force_with_planted_ties(mode, final_act):
    m, test = _untrained(final_act)
    _plant_ties(m)
    cut = (1, 5, 20, 100, 10 ** 6)
    rec, mrr, n = brute_force(m, test, cut, mode)
    got = evaluate(m, test, cutoffs=cut, mode=mode, batch_size=16)
    assert got["n_events"] == n
    for c in cut:
        assert got["recall"][c] == pytest.approx(rec[c], abs=1e-12), (c, mode)
        assert got["mrr"][c] == pytest.approx(mrr[c], abs=1e-12), (c, mode)


def test_modes_are_ordered_and_ties_matter():
    m, test = _untrained("relu")
    _plant_ties(m)
    big = 10 ** 6                   # MRR over every rank: the zero-score ties count
    r = {mode: evaluate(m, test, cutoffs=(big,), mode=mode)["mrr"][big]
         for mode in ("standard", "tiebreaking", "median", "conservative")}
    assert r["standard"] > r["median"] > r["conservative"]
    assert r["standard"] >= r["tiebreaking"] >= r["conservative"]


def test_candidates_and_batch_sizes():
    m, test = _untrained("elu-0.5")
    items = m.item_index.ids[::3].tolist() + ["not-an-item"] if m.item_index.ids.dtype.kind == "O" \
        else m.item_index.ids[::3].tolist() + [10 ** 9]
    rec, mrr, n = brute_force(m, test, (5, 20), "standard", items=items)
    got = evaluate(m, test, cutoffs=(5, 20), items=items)
    assert got["recall"][20] == pytest.approx(rec[20], abs=1e-12)
    assert got["mrr"][5] == pytest.approx(mrr[5], abs=1e-12)
    base = evaluate(m, test, cutoffs=(1, 20))
    n_sessions = SessionDataset.from_events(test, item_index=m.item_index).n_sessions
    for bs in (1, 7, n_sessions + 100):          # incl. more slots than sessions
        got = evaluate(m, test, cutoffs=(1, 20), batch_size=bs)
        assert got["recall"] == pytest.approx(base["recall"], abs=1e-12)
        assert got["mrr"] == pytest.approx(base["mrr"], abs=1e-12)


def test_unknown_test_items_are_dropped():
    m, test = _untrained()
    extra = test.iloc[:5].copy()
    extra["ItemId"] = 10 ** 9          # unknown to the model
    both = evaluate(m, __import__("pandas").concat([test, extra]), cutoffs=(20,))
    assert both == evaluate(m, test, cutoffs=(20,))


def test_evaluate_bad_inputs():
    train, test = tiny()
    with pytest.raises(RuntimeError, match="not trained"):
        evaluate(GRU4Rec(), test)
    m, test = _untrained()
    with pytest.raises(ValueError, match="valid: standard, conservative, median, tiebreaking"):
        evaluate(m, test, mode="optimistic")
    with pytest.raises(ValueError, match="positive integers"):
        evaluate(m, test, cutoffs=(0, 20))
    with pytest.raises(ValueError, match="cutoffs is empty"):
        evaluate(m, test, cutoffs=())
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        evaluate(m, test, batch_size=0)
    with pytest.raises(ValueError, match="none of the given items"):
        evaluate(m, test, items=[10 ** 9])
    bad = test.copy()
    bad["ItemId"] = 10 ** 9
    with pytest.raises(DataError, match="none of the .* events has an item known"):
        evaluate(m, bad)
