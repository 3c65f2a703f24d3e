"""sampled_scores against the plain-autograd reference: forward, dense/sparse gradients,
gradcheck in float64, edge sizes (B = 1, B = 0, N = 0), duplicate ids, and errors."""
import pytest
import torch

from gru4rec_fast.ops import reference
from gru4rec_fast.ops.sampled_scores import sampled_scores, sampled_scores_backward
from support import DEVICES

TOL = {torch.float32: dict(rtol=1e-4, atol=1e-4), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def make(B, N, d, n, dtype, device, seed=0, dup=True):
    gen = torch.Generator().manual_seed(seed)
    H = torch.randn(B, d, generator=gen, dtype=dtype)
    W = torch.randn(n, d, generator=gen, dtype=dtype)
    b = torch.randn(n, generator=gen, dtype=dtype)
    Y = torch.randint(n, (N,), generator=gen)
    if dup and N > 3:
        Y[N // 2:N // 2 + 3] = Y[0]  # guaranteed duplicates
    return [t.to(device) for t in (H, W, b, Y)]


SHAPES = [(1, 5, 3, 10), (7, 33, 37, 50), (32, 2080, 100, 3000), (3, 4096, 512, 5000)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B,N,d,n", SHAPES)
def test_forward_backward_vs_reference(device, dtype, B, N, d, n):
    H, W, b, Y = make(B, N, d, n, dtype, device)
    dS = torch.randn(B, N, dtype=dtype, device=device)
    Hf, Wf, bf = (t.clone().requires_grad_() for t in (H, W, b))
    Hr, Wr, br = (t.clone().requires_grad_() for t in (H, W, b))
    S = sampled_scores(Hf, Wf, bf, Y)
    Sr = reference.sampled_scores(Hr, Wr, br, Y)
    torch.testing.assert_close(S, Sr, **TOL[dtype])
    S.backward(dS)
    Sr.backward(dS)
    torch.testing.assert_close(Hf.grad, Hr.grad, **TOL[dtype])
    # W and b get uncoalesced sparse COO gradients: one value row per column of S.
    for g, g_ref, rows in ((Wf.grad, Wr.grad, (N, d)), (bf.grad, br.grad, (N,))):
        assert g.layout == torch.sparse_coo and not g.is_coalesced()
        assert g.shape == g_ref.shape
        assert g._values().shape == rows  # nothing dense of size n x d
        assert torch.equal(g._indices()[0], Y)
        torch.testing.assert_close(g.to_dense(), g_ref, **TOL[dtype])
    # The raw backward matches the reference's raw backward.
    for a, r in zip(sampled_scores_backward(dS, H, W, Y), reference.sampled_scores_backward(dS, H, W, Y)):
        torch.testing.assert_close(a, r, **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n,d,N,dtype", [(50, 7, 300, torch.float32), (1, 3, 1, torch.float64),
                                         (20, 5, 0, torch.float32), (1000, 100, 2080, torch.float32)])
@pytest.mark.parametrize("strided", [False, True], ids=["contiguous", "strided"])
def test_gather_is_exact(device, n, d, N, dtype, strided):
    """The op's row gather (the prefetching CPU gather that the training loop shares;
    its parallel chunks at N = 2080) copies rows exactly, duplicates included: with H the
    identity and b = 0, S^T is W[Y] bit for bit, and the dW rows of dS = I are H's rows."""
    g = torch.Generator().manual_seed(n + N)
    W = torch.randn(n, 2 * d if strided else d, generator=g, dtype=dtype)
    W = (W[:, ::2] if strided else W).to(device)     # strided: every other column
    Y = torch.randint(0, n, (N,), generator=g).to(device)   # many duplicates
    H = torch.eye(d, dtype=dtype, device=device)
    S = sampled_scores(H, W, torch.zeros(n, dtype=dtype, device=device), Y)
    assert torch.equal(S.t(), W.index_select(0, Y))
    dH, dW_rows, db_rows = sampled_scores_backward(torch.ones(d, N, dtype=dtype, device=device),
                                                   H, W, Y)
    torch.testing.assert_close(dH, torch.ones(d, N, dtype=dtype) @ W.cpu().index_select(0, Y.cpu()),
                               check_device=False, **TOL[dtype])
    assert torch.equal(dW_rows, torch.ones(N, d, dtype=dtype, device=device))
    assert torch.equal(db_rows, torch.full((N,), float(d), dtype=dtype, device=device))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("B,N", [(1, 1), (3, 31), (32, 2080), (33, 65), (65, 33), (40, 1)])
def test_cpu_forward_is_the_transposed_product_to_the_bit(dtype, B, N):
    """The CPU forward computes the N x B product b[Y] + W[Y] H^T and copies it to B x N
    with its own tiled transpose (csrc/cpu/sampled_scores_cpu.cpp): a pure copy, so the
    result must equal ATen's transpose of the same product bit for bit, tile edges
    included (B, N not multiples of the 32-wide tiles)."""
    H, W, b, Y = make(B, N, 9, 70, dtype, "cpu", seed=B * 1000 + N)
    want = torch.addmm(b[Y].unsqueeze(1).expand(N, B), W[Y], H.t()).t().contiguous()
    assert torch.equal(sampled_scores(H, W, b, Y), want)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_float64(device):
    H, W, b, Y = make(3, 9, 5, 7, torch.float64, device)
    H, W, b = (t.requires_grad_() for t in (H, W, b))
    # H: torch's gradcheck on the dense input.
    assert torch.autograd.gradcheck(lambda h: sampled_scores(h, W.detach(), b.detach(), Y), (H,))
    # W and b: gradcheck cannot compare sparse gradients of dense inputs, so compare
    # their .to_dense() with central finite differences ourselves.
    eps = 1e-6
    w = torch.randn(3, 9, dtype=torch.float64, device=device)  # random projection of S

    def f(W_, b_):
        return (sampled_scores(H.detach(), W_, b_, Y) * w).sum()

    Wg, bg = torch.autograd.grad(f(W, b), (W, b))
    assert Wg.layout == torch.sparse_coo and bg.layout == torch.sparse_coo
    num_W = torch.zeros_like(W)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            Wp, Wm = W.detach().clone(), W.detach().clone()
            Wp[i, j] += eps
            Wm[i, j] -= eps
            num_W[i, j] = (f(Wp, b.detach()) - f(Wm, b.detach())) / (2 * eps)
    num_b = torch.zeros_like(b)
    for i in range(b.shape[0]):
        bp, bm = b.detach().clone(), b.detach().clone()
        bp[i] += eps
        bm[i] -= eps
        num_b[i] = (f(W.detach(), bp) - f(W.detach(), bm)) / (2 * eps)
    torch.testing.assert_close(Wg.to_dense(), num_W, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(bg.to_dense(), num_b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("B,N", [(0, 6), (4, 0), (0, 0)])
def test_empty_batch_or_columns(device, B, N):
    """B = 0 gives S (0, N), N = 0 gives S (B, 0); gradients are zeros of the right shapes."""
    H, W, b, Y = make(B, N, 5, 8, torch.float32, device, dup=False)
    H, W, b = (t.requires_grad_() for t in (H, W, b))
    S = sampled_scores(H, W, b, Y)
    assert S.shape == (B, N)
    S.sum().backward()
    assert H.grad.shape == (B, 5) and not H.grad.any()
    assert W.grad.shape == (8, 5) and W.grad._values().shape == (N, 5) and not W.grad.to_dense().any()
    assert b.grad.shape == (8,) and b.grad._values().shape == (N,)


def test_errors():
    H, W, b, Y = make(2, 4, 3, 6, torch.float32, "cpu")
    with pytest.raises(RuntimeError, match=r"ids in 'Y' must be in \[0, 6\)"):
        sampled_scores(H, W, b, torch.tensor([0, 6]))
    with pytest.raises(RuntimeError, match=r"must be in \[0, 6\)"):
        sampled_scores(H, W, b, torch.tensor([-1]))
    with pytest.raises(RuntimeError, match="'H' is Double but 'W' is Float"):
        sampled_scores(H.double(), W, b, Y)
    with pytest.raises(RuntimeError, match="'Y' must be an int64"):
        sampled_scores(H, W, b, Y.int())
    with pytest.raises(RuntimeError, match="second dimensions"):
        sampled_scores(H, W[:, :2], b, Y)
    with pytest.raises(RuntimeError, match="b has 5 entries but W has 6 rows"):
        sampled_scores(H, W, b[:5], Y)
    with pytest.raises(RuntimeError, match="'H' is on cpu but 'Y' is on meta"):
        sampled_scores(H, W, b, Y.to("meta"))
    with pytest.raises(RuntimeError, match=r"dS is \[3, 4\] but must be \(B, N\) = \(2, 4\)"):
        sampled_scores_backward(torch.zeros(3, 4), H, W, Y)
