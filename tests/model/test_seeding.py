"""The dropout and sampling streams are independent and reproducible (issue 11, item 4)."""
import numpy as np
import pytest
import torch

from gru4rec_fast.model.seeding import STREAMS, stream_seed


@pytest.mark.parametrize("seed", [0, 1, 42, 2 ** 40 + 7])
def test_streams_differ_and_repeat(seed):
    seeds = {s: stream_seed(seed, s) for s in STREAMS}
    assert len(set(seeds.values())) == len(seeds)          # no two streams share a seed
    assert seed not in seeds.values()                       # nor the init's seed
    assert all(0 <= v < 2 ** 63 for v in seeds.values())    # manual_seed's range
    assert seeds == {s: stream_seed(seed, s) for s in STREAMS}


def test_uniforms_of_the_two_streams_are_uncorrelated():
    # The defect this prevents: with one seed for both, the first uniforms were equal.
    g1 = torch.Generator().manual_seed(stream_seed(42, "dropout"))
    g2 = torch.Generator().manual_seed(stream_seed(42, "sampling"))
    a = torch.rand(100_000, generator=g1, dtype=torch.float64).numpy()
    b = torch.rand(100_000, generator=g2, dtype=torch.float64).numpy()
    assert not np.array_equal(a[:10], b[:10])
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02      # 6 sigma for n = 1e5 is 0.019


def test_unknown_stream():
    with pytest.raises(ValueError, match="unknown random stream 'shuffle'"):
        stream_seed(0, "shuffle")
