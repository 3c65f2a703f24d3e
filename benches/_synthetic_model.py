"""A GRU4Rec with freshly initialised weights over ``n_items`` integer item ids, and
synthetic sessions spread over its catalogue: serving and prediction speed do not depend
on training, so the benchmarks skip it."""
import numpy as np

HYPER = dict(layers=[100], loss="bpr-max", final_act="elu-0.5", constrained_embedding=True)


def synthetic_model(n_items, device="cpu", seed=0, backend="fused", **hyper):
    from gru4rec_fast import GRU4Rec
    from gru4rec_fast.data import ItemIndex
    from gru4rec_fast.model import network
    model = GRU4Rec(backend=backend, device=device, seed=seed, **{**HYPER, **hyper})
    model.item_index = ItemIndex(np.arange(n_items))
    model.weights = network.init_weights(model.hyper, n_items, seed=seed, device=device)
    return model


def synthetic_sessions(n_events, n_items, seed=0):
    """Events (SessionId, ItemId, Time) whose items are spread over [0, n_items)."""
    from gru4rec_fast.data import synthetic
    df = synthetic.generate(n_events, min(n_items, 40_000), seed=seed)
    rng = np.random.default_rng(seed)
    spread = np.sort(rng.choice(n_items, df.ItemId.max() + 1, replace=False))
    df["ItemId"] = spread[df.ItemId.to_numpy()]
    return df
