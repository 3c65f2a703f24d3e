"""cdf_sample (counter-based uniforms + binary search in one kernel) vs
torch.searchsorted(cdf, torch.rand(k))."""
import torch

from gru4rec_fast.ops import cdf_sample
from gru4rec_fast.ops import reference as ref
from gru4rec_fast.ops.cdf_sample import build_cdf


def _check(cdf, k):
    def check():
        a = torch.bincount(cdf_sample(cdf, k, 1).cpu(), minlength=cdf.numel())[:100].double()
        g = torch.Generator(device=cdf.device).manual_seed(1)
        b = torch.bincount(ref.cdf_sample(cdf, k, g).cpu(), minlength=cdf.numel())[:100].double()
        mask = (a + b) > 0
        stat = float((((a - b) ** 2)[mask] / (a + b)[mask]).sum())
        if stat > 3 * int(mask.sum()) + 30:
            raise AssertionError(f"cdf_sample frequencies differ from the reference: {stat}")
    return check


def cases(device):
    n = 1_000_000
    supp = (1e6 / torch.arange(1, n + 1, dtype=torch.float64)).round() + 1
    cdf = build_cdf(supp, 0.75).to(device)
    big = 10_000_000 if str(device).startswith("cuda") else 1_000_000
    for k in (2048, big):
        yield {
            "op": "cdf_sample",
            "shape": f"k={k:,} n=1M float64",
            "fused": lambda k=k: cdf_sample(cdf, k, 7),
            "reference": lambda k=k: ref.cdf_sample(cdf, k),
            "check": _check(cdf, max(k, 100_000)),
        }
