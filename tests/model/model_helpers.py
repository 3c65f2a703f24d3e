"""Helpers of the model tests: small synthetic data sets and the popularity baseline.

There is deliberately no skip rule for a missing or broken extension: the model tests
call the fused kernels, and a build that does not load must fail them."""
import functools

import numpy as np


@functools.lru_cache(maxsize=None)
def _tiny():
    from gru4rec_fast.data import synthetic
    return synthetic.preset("tiny", seed=0)


def tiny():
    """(train, test) DataFrames of the 'tiny' synthetic preset (10k events, 500 items)."""
    train, test = _tiny()
    return train.copy(), test.copy()


def popularity_recall(train, test, cutoff=20):
    """Recall@cutoff of the most-popular baseline, same events as evaluate()."""
    from gru4rec_fast.data import SessionDataset
    from gru4rec_fast.model.evaluation import popularity_ranks
    tr = SessionDataset.from_events(train)
    te = SessionDataset.from_events(test, item_index=tr.item_index)
    nxt = np.ones(te.n_events, dtype=bool)
    nxt[te.offsets[1:] - 1] = False
    ranks = popularity_ranks(tr.supports, te.items[np.flatnonzero(nxt) + 1])
    return float((ranks <= cutoff).mean())
