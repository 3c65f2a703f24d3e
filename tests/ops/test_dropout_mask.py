"""The training loop's CPU dropout mask (csrc/cpu/dropout_mask_cpu.cpp, through its test
binding): the draws of torch.rand from the same generator, bit for bit, turned into
(u < keep) / keep, and the generator left where torch.rand leaves it (the next draws,
uniform and normal, are the same)."""
import pytest
import torch

from gru4rec_fast import _ext

pytestmark = pytest.mark.skipif(not _ext.available(), reason="needs the compiled extension")


def reference_mask(rows, cols, dtype, gen, keep):
    u = torch.rand(rows, cols, generator=gen, dtype=dtype)
    return u.lt(keep).to(dtype).div_(keep), u


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(0, 5), (1, 1), (3, 7), (32, 100), (80, 224), (1, 1000)])
@pytest.mark.parametrize("keep", [0.5, 0.9, 0.95])
def test_mask_same_draws_as_torch_rand(dtype, shape, keep):
    for seed in (0, 1, 2**40 + 3):
        a = torch.Generator().manual_seed(seed)
        b = torch.Generator().manual_seed(seed)
        # a draw or two first, so the engine is mid-block (its 624-word refills fall
        # inside the mask at different places)
        torch.rand(seed % 700, generator=a)
        torch.rand(seed % 700, generator=b)
        got = _ext.ext()._dropout_keep_mask_cpu(*shape, dtype, a, keep)
        want, u = reference_mask(*shape, dtype, b, keep)
        assert got.dtype == dtype and got.shape == shape
        assert torch.equal(got, want)
        if u.numel() >= 100:  # the mask is not constant: it does depend on the draws
            assert 0 < int((got == 0).sum()) < u.numel()
        # the generators continue alike
        assert torch.equal(torch.rand(50, generator=a, dtype=dtype),
                           torch.rand(50, generator=b, dtype=dtype))
        assert torch.equal(torch.randn(17, generator=a), torch.randn(17, generator=b))
        assert torch.equal(a.get_state(), b.get_state())


def test_mask_long_run_crosses_many_engine_refills():
    a = torch.Generator().manual_seed(9)
    b = torch.Generator().manual_seed(9)
    for rows, cols in [(300, 301), (1, 5), (2, 624)]:
        for dtype in (torch.float32, torch.float64):
            got = _ext.ext()._dropout_keep_mask_cpu(rows, cols, dtype, a, 0.7)
            assert torch.equal(got, reference_mask(rows, cols, dtype, b, 0.7)[0])
    assert torch.equal(a.get_state(), b.get_state())
