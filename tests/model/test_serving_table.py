"""The device-resident serving state of recommend(): slot reuse, growth, forget, and
recommend's batched results (NumPy arrays, exclude_seen)."""
import numpy as np
import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.model.forward import forward_step
from gru4rec_fast.model.serving import SessionStateTable
from model_helpers import tiny


def test_table_reuses_slots_and_grows_amortised():
    t = SessionStateTable([3, 2], torch.float64, "cpu", capacity=2)
    slots, new = t.acquire(["a", "b"])
    assert slots.tolist() == [0, 1] and new.tolist() == [True, True]
    t.store(slots, [torch.ones(2, 3, dtype=torch.float64), torch.full((2, 2), 2.0, dtype=torch.float64)])
    slots, new = t.acquire(["b", "c"])                 # c does not fit: the table doubles
    assert slots.tolist() == [1, 2] and new.tolist() == [False, True] and t.capacity == 4
    h = t.gather(torch.tensor([0, 1]))
    assert (h[0] == 1).all() and (h[1] == 2).all()     # the copy kept the states
    t.forget(["a", "zzz"])                              # unknown ids are ignored
    assert len(t) == 2 and "a" not in t
    slots, new = t.acquire(["d"])                      # a's slot is reused
    assert slots.tolist() == [0] and new.tolist() == [True] and t.capacity == 4
    grows = 0
    for i in range(100):
        cap = t.capacity
        t.acquire([f"s{i}"])
        grows += t.capacity != cap
    assert len(t) == 103 and grows <= 6 and t.capacity >= 103
    t.clear()
    assert len(t) == 0 and t.acquire(["x"])[0].tolist() == [0]


def _model():
    train, _ = tiny()
    m = GRU4Rec(seed=5, layers=[12, 10], n_sample=16, n_epochs=1, constrained_embedding=False,
                embedding=6)
    m.fit(train, max_steps=20, verbose=False, sample_store_size=20_000)
    return m


def test_many_concurrent_sessions_match_one_by_one():
    m = _model()
    ids = m.item_index.ids
    rng = np.random.default_rng(0)
    seqs = {f"s{j}": list(ids[rng.integers(0, len(ids), 4)]) for j in range(150)}
    # interleaved batched calls, with a forget and a reused id in between
    batched = {}
    for step in range(4):
        sids = list(seqs)
        rng.shuffle(sids)
        for i in range(0, len(sids), 64):
            chunk = sids[i:i + 64]
            top, sc = m.recommend(chunk, [seqs[s][step] for s in chunk], k=5)
            assert isinstance(top, np.ndarray) and isinstance(sc, np.ndarray)
            assert sc.dtype == np.float32 and top.dtype == ids.dtype and top.shape == (len(chunk), 5)
            for s, t_, c in zip(chunk, top, sc):
                batched[s] = (t_, c)
    assert len(m._sessions) == 150
    for s in list(seqs)[:20]:
        X = torch.as_tensor(m.item_index.map_items(np.asarray(seqs[s])), dtype=torch.long)
        H = [torch.zeros(1, d) for d in m.layers]
        for x in X:
            H = forward_step(m.weights, m.hyper, x.view(1), H)
        logits = (H[-1] @ m.weights["Wy"].T + m.weights["By"])[0]
        assert list(batched[s][0]) == list(ids[torch.topk(logits, 5).indices.numpy()])
        np.testing.assert_allclose(batched[s][1], torch.topk(logits, 5).values.numpy(), rtol=1e-5)
    m.forget(list(seqs)[:100])
    assert len(m._sessions) == 50
    m.recommend(["new"], [ids[0]], k=3)
    assert m._sessions.n_used == 150                   # a freed slot was reused


def test_recommend_exclude_seen():
    m = _model()
    ids = m.item_index.ids
    first, _ = m.recommend(["a"], [ids[1]], k=3)
    seen = [ids[1]]
    for it in first[0][:2]:                             # feed its own best items
        top, _ = m.recommend(["a"], [it], k=10, exclude_seen=True)
        seen.append(it)
        assert not set(top[0]) & set(seen)
    # fewer candidates left than k: padded with None / NaN
    cand = list(seen[:2]) + [ids[50]]
    top, sc = m.recommend(["a"], [ids[50]], k=5, candidates=cand, exclude_seen=True)
    assert top.shape == (1, 3) and top.dtype == object
    assert list(top[0]) == [None, None, None] and np.isnan(sc).all()
    top, sc = m.recommend(["b"], [cand[0]], k=5, candidates=cand, exclude_seen=True)
    assert set(top[0][:2]) == set(cand[1:]) and top[0][2] is None and np.isnan(sc[0, 2])


def test_state_follows_layers_device_and_refit():
    m = _model()
    m.recommend(["a"], [m.item_index.ids[0]], k=2)
    assert len(m._sessions) == 1
    m.fit(tiny()[0], max_steps=5, verbose=False, sample_store_size=20_000)
    assert len(m._sessions) == 0                       # fit clears the serving state
    with pytest.raises(ValueError, match="unknown to the model"):
        m.recommend(["a"], [10 ** 9])
    assert len(m._sessions) == 0                       # a failed call opens no session
