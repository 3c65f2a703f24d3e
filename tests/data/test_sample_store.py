"""Sample store: distribution (chi-square), regeneration, determinism."""
import numpy as np
import pytest
import torch

from gru4rec_fast.data import SampleStore, sampling_cdf, uniform_to_ids


def chi_square(counts, probs):
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.75, 1.0])
def test_distribution_chi_square(alpha):
    rng = np.random.default_rng(0)
    supp = rng.integers(1, 200, size=40)
    store = SampleStore(supp, n_sample=500, alpha=alpha, store_size=50_000, seed=3)
    draws = torch.cat([store.next() for _ in range(400)]).numpy()   # 200k ids
    counts = np.bincount(draws, minlength=len(supp)).astype(np.float64)
    probs = supp.astype(np.float64) ** alpha
    probs /= probs.sum()
    np.testing.assert_allclose(store.probabilities(), probs, rtol=1e-12, atol=1e-15)
    # df = 39; P(chi2 > 72.1) = 0.001
    assert chi_square(counts, probs) < 72.1


def test_cdf_and_mapping():
    cdf = sampling_cdf([1, 0, 3], 1.0)
    assert cdf.dtype == torch.float64 and cdf[-1].item() == 1.0
    u = torch.tensor([0.0, 0.25, 0.2500001, 0.9999999], dtype=torch.float64)
    assert uniform_to_ids(cdf, u).tolist() == [0, 0, 2, 2]     # side='left', zero weight skipped


def test_store_regenerates_and_is_seeded():
    supp = np.arange(1, 101)
    a = SampleStore(supp, n_sample=10, store_size=35, seed=7)       # 3 steps per block
    b = SampleStore(supp, n_sample=10, store_size=35, seed=7)
    xs = [a.next() for _ in range(7)]
    ys = [b.next() for _ in range(7)]
    assert all(torch.equal(x, y) for x, y in zip(xs, ys))
    assert a.n_regenerations == 3 and xs[0].shape == (10,) and xs[0].dtype == torch.int64
    assert not torch.equal(xs[0], xs[3])
    c = SampleStore(supp, n_sample=10, store_size=0, seed=7)        # per-step draws
    assert c.steps_per_store == 0 and c.next().shape == (10,)
    # on CPU the uniform stream is the same drawn per step or in blocks
    c = SampleStore(supp, n_sample=10, store_size=0, seed=7)
    assert all(torch.equal(c.next(), x) for x in xs)


def test_draw_fn_plugin():
    calls = []

    def fake(cdf, k, seed, offset):
        calls.append((k, seed, offset))
        return torch.zeros(k, dtype=torch.int64)

    s = SampleStore([1, 2, 3], n_sample=4, store_size=8, seed=5, draw_fn=fake)
    for _ in range(3):
        s.next()
    assert calls == [(8, 5, 0), (8, 5, 8)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_sample"):
        SampleStore([1, 2], n_sample=0)
    with pytest.raises(ValueError, match="zero"):
        sampling_cdf([0, 0], 1.0)


def test_take_gives_the_ids_of_next():
    supp = np.arange(1, 101)
    for store_size in (0, 50, 10 * 7):      # drawn per step, blocks of 5 and 7 steps
        a = SampleStore(supp, 10, 0.75, store_size, seed=4)
        b = SampleStore(supp, 10, 0.75, store_size, seed=4)
        got = []
        for k in (3, 1, 6, 2, 9):
            block = a.take(k)
            assert 1 <= block.shape[0] <= k and block.shape[1] == 10
            got.append(block)
        got = torch.cat(got)
        want = torch.stack([b.next() for _ in range(got.shape[0])])
        assert torch.equal(got, want)
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        a.take(0)


def test_uniform_to_ids_equals_searchsorted():
    # the compiled search (used when built) against torch.searchsorted, including
    # uniforms equal to CDF entries and items of zero weight (repeated CDF values)
    from gru4rec_fast.data.sample_store import sampling_cdf, uniform_to_ids
    supp = np.array([0, 3, 0, 0, 5, 1, 0, 2])
    cdf = sampling_cdf(supp, 1.0)
    u = torch.cat([cdf.clone(), torch.tensor([0.0, 1e-300, 0.5, 0.999999]),
                   torch.rand(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(1))])
    want = torch.searchsorted(cdf, u, side="left").clamp(max=len(supp) - 1)
    assert torch.equal(uniform_to_ids(cdf, u), want)
