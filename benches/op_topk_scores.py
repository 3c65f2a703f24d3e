"""topk_scores (fused: tiled GEMM + running top-k) vs its plain-PyTorch reference (the
whole B x n score matrix, stable sorts) and, as the "what people write" figure in the
check, addmm + torch.topk."""
import torch

from gru4rec_fast.ops import topk_scores
from gru4rec_fast.ops import reference as ref


def _inputs(B, n, d, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(B, d, generator=g)
    W = torch.randn(n, d, generator=g) / d ** 0.5
    b = torch.randn(n, generator=g) * 0.1
    return [x.to(device) for x in (H, W, b)]


def _check(args, k, act):
    def check():
        fs, fi = topk_scores(*args, k, final_act=act)
        logits = torch.addmm(args[2], args[0], args[1].T)
        top = torch.topk(logits, k, dim=1).indices
        # float32, different summation orders: a near-tie at the boundary may swap
        agree = (fi == top).float().mean()
        if float(agree) < 0.99:
            raise AssertionError(f"topk_scores agrees with torch.topk on only {float(agree):.3f}")
    return check


def cases(device):
    for B, n, d, k, act in [(1, 50_000, 100, 20, "elu-0.5"), (64, 50_000, 100, 20, "elu-0.5"),
                            (512, 50_000, 100, 20, "softmax")]:
        args = _inputs(B, n, d, device)
        yield {
            "op": "topk_scores",
            "shape": f"B={B} n={n // 1000}k d={d} k={k} {act}",
            "fused": lambda args=args, k=k, act=act: topk_scores(*args, k, final_act=act),
            "reference": lambda args=args, k=k, act=act: ref.topk_scores(*args, k, final_act=act),
            "check": _check(args, k, act),
        }
