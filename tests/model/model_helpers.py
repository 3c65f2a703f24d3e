"""Helpers of the model tests: small synthetic data sets, a skip rule for fused kernels
that have not landed on main yet (their modules raise NotImplementedError), and the
popularity baseline."""
import functools

import numpy as np
import pytest
import torch


@functools.lru_cache(maxsize=None)
def _tiny():
    from gru4rec_fast.data import synthetic
    return synthetic.preset("tiny", seed=0)


def tiny():
    """(train, test) DataFrames of the 'tiny' synthetic preset (10k events, 500 items)."""
    train, test = _tiny()
    return train.copy(), test.copy()


@functools.lru_cache(maxsize=None)
def missing_kernels():
    """Names of the fused ops (and reference twins) the model uses that are still stubs."""
    from gru4rec_fast import _ext
    from gru4rec_fast.ops import reference as R
    import gru4rec_fast.ops as ops
    missing = []
    f64 = torch.float64
    H, W, b = torch.zeros(2, 3, dtype=f64), torch.zeros(4, 3, dtype=f64), torch.zeros(4, dtype=f64)
    Y = torch.tensor([0, 1, 2])
    checks = {
        "gru_step": lambda m: m.gru_step(torch.zeros(2, 9, dtype=f64), H, torch.zeros(3, 6, dtype=f64),
                                         torch.zeros(3, 3, dtype=f64)),
        "sampled_scores": lambda m: m.sampled_scores(H, W, b, Y),
        "fused_loss": lambda m: m.fused_loss_fwd_bwd(torch.zeros(2, 3, dtype=f64), "bpr-max", "linear"),
        "eval_rank_counts": lambda m: m.eval_rank_counts(H, W, b, torch.tensor([0, 1])),
    }
    for name, fn in checks.items():
        for mod, label in ((ops, name), (R, f"reference.{name}")):
            try:
                fn(mod)
            except NotImplementedError:
                missing.append(label)
            except _ext.ExtensionNotBuiltError:
                missing.append(f"{label} (extension not built)")
    return tuple(missing)


def need_kernels():
    m = missing_kernels()
    if m:
        pytest.skip("fused kernels not on main yet: " + ", ".join(m))


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
