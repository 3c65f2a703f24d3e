"""cdf_sample / cdf_search against torch.searchsorted and a chi-square fit."""
import math

import pytest
import torch

from support import DEVICES

from gru4rec_fast.ops import cdf_sample, cdf_search
from gru4rec_fast.ops import reference as ref
from gru4rec_fast.ops.cdf_sample import build_cdf

DTYPES = [torch.float32, torch.float64]


def zipf_supports(n, s=1.1, zeros=()):
    supp = 1000.0 / torch.arange(1, n + 1, dtype=torch.float64) ** s
    supp = supp.round() + 1.0
    for i in zeros:
        supp[i] = 0.0
    return supp


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_search_equals_searchsorted(device, dtype):
    g = torch.Generator().manual_seed(0)
    cdf = build_cdf(zipf_supports(1000, zeros=(0, 5, 6, 999)), 0.75, dtype=dtype).to(device)
    u = torch.rand(20000, generator=g, dtype=dtype).to(device)
    # exact hits of entries (including repeated entries from zero supports), 0 and 1
    u = torch.cat([u, cdf, cdf[:50].clone(), torch.zeros(3, dtype=dtype, device=device),
                   torch.ones(2, dtype=dtype, device=device)])
    got = cdf_search(cdf, u)
    assert got.dtype == torch.long and got.device == cdf.device
    assert torch.equal(got, torch.searchsorted(cdf, u))
    assert torch.equal(got, ref.cdf_search(cdf, u))
    # any shape
    u2 = u[:600].reshape(20, 30)
    assert torch.equal(cdf_search(cdf, u2), torch.searchsorted(cdf, u2))


@pytest.mark.parametrize("device", DEVICES)
def test_search_zero_first_entry_and_clamp(device):
    cdf = torch.tensor([0.0, 0.0, 0.25, 0.25, 1.0], dtype=torch.float64, device=device)
    u = torch.tensor([0.0, 1e-300, 0.25, 0.2500001, 0.9999, 1.0], dtype=torch.float64, device=device)
    assert cdf_search(cdf, u).tolist() == [0, 2, 2, 4, 4, 4]  # side='left': u=0 hits item 0
    # above the last entry (a cdf not ending in exactly 1): clamped to n-1, torch gives n
    short = torch.tensor([0.5, 0.999], dtype=torch.float64, device=device)
    over = torch.tensor([0.9995], dtype=torch.float64, device=device)
    assert cdf_search(short, over).tolist() == [1]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_deterministic_streams(device, dtype):
    cdf = build_cdf(zipf_supports(5000), 0.75, dtype=dtype).to(device)
    a = cdf_sample(cdf, 1000, seed=7)
    assert a.dtype == torch.long and a.shape == (1000,) and a.device == cdf.device
    assert torch.equal(a, cdf_sample(cdf, 1000, seed=7, offset=0))
    assert not torch.equal(a, cdf_sample(cdf, 1000, seed=8))
    assert not torch.equal(a, cdf_sample(cdf, 1000, seed=7, offset=1))
    assert int(a.min()) >= 0 and int(a.max()) < 5000
    # offset continues the stream
    whole = cdf_sample(cdf, 10, seed=3, offset=0)
    parts = torch.cat([cdf_sample(cdf, 5, seed=3, offset=0), cdf_sample(cdf, 5, seed=3, offset=5)])
    assert torch.equal(whole, parts)
    assert torch.equal(cdf_sample(cdf, 1000, 3, 100)[:10], cdf_sample(cdf, 10, 3, 100))
    # huge and negative seeds are valid 64-bit streams
    assert torch.equal(cdf_sample(cdf, 50, -1), cdf_sample(cdf, 50, (1 << 64) - 1))


@pytest.mark.cuda
def test_sample_cpu_equals_cuda():
    cdf = build_cdf(zipf_supports(10000), 0.5)
    for dtype in DTYPES:
        c = cdf.to(dtype)
        assert torch.equal(cdf_sample(c, 100000, 11, 123), cdf_sample(c.cuda(), 100000, 11, 123).cpu())


@pytest.mark.parametrize("device", DEVICES)
def test_sample_float32_and_float64_cdf_agree_mostly(device):
    # Same uniforms (float64), so the ids differ only where float32 rounding of the cdf
    # moves a boundary across a uniform.
    cdf = build_cdf(zipf_supports(2000), 1.0).to(device)
    a = cdf_sample(cdf, 20000, 5)
    b = cdf_sample(cdf.float(), 20000, 5)
    assert (a != b).float().mean().item() < 1e-3


def chi_square(counts, probs, k):
    expected = probs * k
    mask = expected > 0
    return float((((counts - expected) ** 2)[mask] / expected[mask]).sum()), int(mask.sum()) - 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("alpha", [0.0, 0.75, 1.0])
def test_sample_chi_square(device, alpha):
    n, k = 200, 200000
    supp = zipf_supports(n, s=1.0, zeros=(3, 50, 199))
    cdf = build_cdf(supp, alpha).to(device)
    w = supp ** alpha
    probs = w / w.sum()
    ids = cdf_sample(cdf, k, seed=1234 + int(alpha * 100))
    counts = torch.bincount(ids.cpu(), minlength=n).double()
    stat, dof = chi_square(counts, probs, k)
    # mean dof, sd sqrt(2 dof): 6 sd is a loose but still sharp bound (a biased sampler
    # with this many draws lands orders of magnitude above it)
    assert stat < dof + 6 * math.sqrt(2 * dof), (stat, dof)
    if alpha > 0:  # zero-support items are never drawn
        assert counts[[3, 50, 199]].sum() == 0


@pytest.mark.parametrize("device", DEVICES)
def test_sample_zero_probability_never_drawn(device):
    # first and last items have zero mass: u in [0,1) never exceeds cdf[-2]... except
    # item 0 at u == 0 exactly (probability 2^-53).
    cdf = torch.tensor([0.0, 0.3, 0.3, 0.6, 1.0, 1.0], dtype=torch.float64, device=device)
    ids = cdf_sample(cdf, 100000, seed=99)
    counts = torch.bincount(ids.cpu(), minlength=6)
    assert counts[0] == 0 and counts[2] == 0 and counts[5] == 0
    assert counts[[1, 3, 4]].min() > 25000


@pytest.mark.parametrize("device", DEVICES)
def test_reference_sampler_same_distribution(device):
    cdf = build_cdf(zipf_supports(100), 0.75).to(device)
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.bincount(ref.cdf_sample(cdf, 100000, g).cpu(), minlength=100).double()
    b = torch.bincount(cdf_sample(cdf, 100000, 0).cpu(), minlength=100).double()
    # two-sample chi-square
    mask = (a + b) > 0
    stat = float((((a - b) ** 2)[mask] / (a + b)[mask]).sum())
    dof = int(mask.sum()) - 1
    assert stat < dof + 6 * math.sqrt(2 * dof)


@pytest.mark.parametrize("device", DEVICES)
def test_empty_draws_and_inputs(device):
    cdf = torch.tensor([0.5, 1.0], device=device)
    assert cdf_sample(cdf, 0, 1).shape == (0,)
    assert cdf_search(cdf, torch.empty(0, device=device)).shape == (0,)


def test_errors():
    cdf = torch.tensor([0.5, 1.0])
    with pytest.raises(RuntimeError, match="dimension"):
        cdf_sample(cdf.reshape(1, 2), 3, 0)
    with pytest.raises(RuntimeError, match="empty"):
        cdf_sample(torch.empty(0), 3, 0)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        cdf_sample(torch.tensor([1, 2]), 3, 0)
    with pytest.raises(RuntimeError, match="k"):
        cdf_sample(cdf, -1, 0)
    with pytest.raises(RuntimeError, match="offset"):
        cdf_sample(cdf, 1, 0, offset=-5)
    with pytest.raises(RuntimeError, match="float32 or float64"):
        cdf_search(torch.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="uniforms"):
        cdf_search(cdf, torch.tensor([0.5], dtype=torch.float64))
    with pytest.raises(RuntimeError, match="dimension"):
        cdf_search(cdf.reshape(2, 1), torch.tensor([0.5]))


def test_build_cdf():
    cdf = build_cdf(torch.tensor([1.0, 3.0, 0.0, 4.0]), 1.0)
    assert cdf.dtype == torch.float64 and cdf[-1].item() == 1.0
    assert torch.allclose(cdf, torch.tensor([0.125, 0.5, 0.5, 1.0], dtype=torch.float64))
    uni = build_cdf(torch.tensor([5.0, 1.0, 7.0, 2.0]), 0.0, dtype=torch.float32)
    assert uni.dtype == torch.float32 and torch.allclose(uni, torch.tensor([0.25, 0.5, 0.75, 1.0]))
    assert build_cdf(torch.rand(100001, dtype=torch.float64), 0.75)[-1].item() == 1.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_many_draws_take_the_guide_table_and_give_the_same_ids(dtype):
    # k >= n/8 uniforms switch the CPU kernels to the guide-table search; it must return
    # exactly the binary search's ids, including at CDF values, on flat runs (items of
    # zero weight), below 0, at and above 1, and for NaN.
    gen = torch.Generator().manual_seed(5)
    supp = torch.randint(0, 4, (300,), generator=gen).double() ** 3
    supp[0] = 0.0
    cdf = build_cdf(supp, 1.0, dtype=dtype)
    edges = torch.tensor([0.0, -0.5, 1.0, 1.5, float("nan"), 1e-30], dtype=dtype)
    u = torch.cat([cdf, edges, torch.rand(5000, generator=gen, dtype=dtype)])
    want = torch.searchsorted(cdf, u).clamp(max=cdf.numel() - 1)
    assert len(u) >= cdf.numel() // 8
    assert torch.equal(cdf_search(cdf, u), want)
    # cdf_sample: one big call (guide) against the same stream drawn in small calls
    # (binary search), offset by offset
    big = cdf_sample(cdf, 4000, seed=11, offset=7)
    small = torch.cat([cdf_sample(cdf, 20, seed=11, offset=7 + j) for j in range(0, 4000, 20)])
    assert torch.equal(big, small)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 2, 8, 200])
def test_guide_search_pipelined_blocks_any_length(dtype, n):
    # The CPU guide search runs in pipelined blocks of 32 draws (CdfGuide::find_many):
    # lengths below, at, and around multiples of the block, edge values (NaN, < 0, > 1,
    # exact CDF entries, flat runs of zero-weight items) at the start, middle and end of
    # a block, on 1 and 2 threads (task boundaries inside a block).
    gen = torch.Generator().manual_seed(n)
    supp = torch.randint(0, 3, (n,), generator=gen).double()
    supp[-1] = 1.0
    cdf = build_cdf(supp, 1.0, dtype=dtype)
    edges = [float("nan"), -0.25, 1.5, 0.0, 1.0]
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for m in (1, 2, 31, 32, 33, 64, 65, 97, 3 * 4096 + 17):
                u = torch.rand(m, generator=gen, dtype=dtype)
                picks = torch.randint(0, n, (m,), generator=gen)
                u[::3] = cdf[picks[::3]]  # exact hits of entries
                for j, e in zip((0, m // 2, m - 1, 31, 32), edges):
                    if j < m:
                        u[j] = e
                want = torch.searchsorted(cdf, u).clamp(max=n - 1)
                got = cdf_search(cdf, u)
                assert torch.equal(got, want), (threads, m)
                if n < 200:
                    continue
                # cdf_sample: one call (guide, k >= n/8) against the same stream in
                # calls of one draw (binary search at n = 200)
                big = cdf_sample(cdf, m if m < 200 else 200, seed=3, offset=5)
                one = torch.cat([cdf_sample(cdf, 1, seed=3, offset=5 + j)
                                 for j in range(big.numel())])
                assert torch.equal(big, one), (threads, m)
    finally:
        torch.set_num_threads(before)
