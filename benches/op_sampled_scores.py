"""sampled_scores forward + backward vs the plain-autograd reference (whose W[Y] gather
gives W a dense n x d gradient). Shapes: B x N scores, d hidden, n items."""
import torch

from gru4rec_fast.ops import reference
from gru4rec_fast.ops.sampled_scores import sampled_scores


def cases(device, n=100_000):
    gen = torch.Generator().manual_seed(0)
    for B, N, d in ((80, 2128, 224), (32, 2080, 100), (240, 2288, 512)):
        H = torch.randn(B, d, generator=gen).to(device).requires_grad_()
        W = (0.1 * torch.randn(n, d, generator=gen)).to(device).requires_grad_()
        b = torch.zeros(n, device=device).requires_grad_()
        Y = torch.randint(n, (N,), generator=gen).to(device)
        dS = torch.randn(B, N, generator=gen).to(device)

        def step(fn, H=H, W=W, b=b, Y=Y, dS=dS):
            H.grad = W.grad = b.grad = None
            fn(H, W, b, Y).backward(dS)
            return H.grad, W.grad, b.grad

        def check(step=step):
            hf, wf, bf = step(sampled_scores)
            hr, wr, br = step(reference.sampled_scores)
            torch.testing.assert_close(hf, hr, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(wf.to_dense(), wr, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(bf.to_dense(), br, rtol=1e-4, atol=1e-4)

        yield {"op": "sampled_scores fwd+bwd", "shape": f"B={B} N={N} d={d} n={n // 1000}k",
               "check": check, "fused": lambda step=step: step(sampled_scores),
               "reference": lambda step=step: step(reference.sampled_scores)}
