"""eval_rank_counts (fused, tiled) vs the plain-PyTorch chunked matmul + comparisons."""
import torch

from gru4rec_fast.ops import eval_rank_counts
from gru4rec_fast.ops import reference as ref


def _inputs(B, n, d, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(B, d, generator=g)
    W = torch.randn(n, d, generator=g) / d ** 0.5
    b = torch.randn(n, generator=g) * 0.1
    t = torch.randint(0, n, (B,), generator=g)
    return [x.to(device) for x in (H, W, b, t)]


def _check(args, act):
    def check():
        fused = eval_rank_counts(*args, final_act=act)
        plain = ref.eval_rank_counts(*args, final_act=act)
        # float32, different summation orders: near-ties may flip, nothing more
        diff = (fused[0] - plain[0]).abs()
        if float(diff.float().mean()) > 0.05 or int(diff.max()) > 3:
            raise AssertionError(f"eval_rank_counts disagrees with the reference: {diff.max()}")
    return check


def cases(device):
    shapes = [(512, 50_000, 100, "elu-1"), (512, 200_000, 224, "elu-0.5")]
    for B, n, d, act in shapes:
        args = _inputs(B, n, d, device)
        yield {
            "op": "eval_rank_counts",
            "shape": f"B={B} n={n // 1000}k d={d} {act}",
            "fused": lambda args=args, act=act: eval_rank_counts(*args, final_act=act),
            "reference": lambda args=args, act=act: ref.eval_rank_counts(*args, final_act=act),
            "check": _check(args, act),
        }
