"""eval_rank_counts against the chunked plain-PyTorch reference, exact ties included."""
import contextlib

import pytest
import torch

from support import DEVICES

from gru4rec_fast.ops import eval_rank_counts, ranks_from_counts
from gru4rec_fast.ops import reference as ref

ELEMENTWISE = ["linear", "relu", "tanh", "leaky-0.5", "elu-1", "elu-0.5", "selu-1.0507-1.67326"]
MODES = ["standard", "conservative", "median", "tiebreaking"]


def random_inputs(B, n, d, dtype, device, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    H = (torch.randn(B, d, generator=g, dtype=torch.float64) * scale).to(dtype)
    W = (torch.randn(n, d, generator=g, dtype=torch.float64) * scale / d ** 0.5).to(dtype)
    b = (torch.randn(n, generator=g, dtype=torch.float64) * 0.1).to(dtype)
    t = torch.randint(0, n, (B,), generator=g)
    return [x.to(device) for x in (H, W, b, t)]


def tied_inputs(B, n, d, dtype, device, seed=0):
    """Small integer values (every product and sum exact in float32), many duplicate
    item rows (the targets' among them), and zero-heavy relu outputs: planted ties."""
    g = torch.Generator().manual_seed(seed)
    H = torch.randint(-2, 3, (B, d), generator=g).to(dtype)
    n_base = max(2, n // 4)
    base = torch.randint(-1, 2, (n_base, d), generator=g).to(dtype)
    base_b = torch.randint(-2, 3, (n_base,), generator=g).to(dtype)
    pick = torch.randint(0, n_base, (n,), generator=g)
    W, b = base[pick].contiguous(), base_b[pick].contiguous()
    t = torch.randint(0, n, (B,), generator=g)
    return [x.to(device) for x in (H, W, b, t)]


def both(H, W, b, t, **kw):
    fused = eval_rank_counts(H, W, b, t, **kw)
    kw.pop("tile_size", None)
    reference = ref.eval_rank_counts(H, W, b, t, **kw)
    return fused, reference


def assert_counts_equal(fused, reference):
    assert fused[0].dtype == torch.long and fused[1].dtype == torch.long
    assert torch.equal(fused[0].cpu(), reference[0].cpu()), (fused[0], reference[0])
    assert torch.equal(fused[1].cpu(), reference[1].cpu()), (fused[1], reference[1])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_planted_ties_exact(device, act, dtype):
    # Shapes off every block size: B % 4, d % 16, n % 16 all nonzero.
    H, W, b, t = tied_inputs(37, 1003, 13, dtype, device, seed=ELEMENTWISE.index(act))
    fused, reference = both(H, W, b, t, final_act=act, tile_size=64)
    assert_counts_equal(fused, reference)
    assert int(fused[1].max()) > 5  # the data really has ties
    for mode in MODES:
        assert torch.equal(ranks_from_counts(*fused, mode), ranks_from_counts(*reference, mode))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_target_counts_itself_and_duplicates(device, dtype):
    # Every item row is a copy of one of 3 rows: the target ties exactly with its copies.
    H, W, b, t = tied_inputs(16, 12, 8, dtype, device, seed=3)
    W = W[:3].repeat(4, 1).contiguous()
    b = torch.zeros(12, dtype=dtype, device=device)
    g, e = eval_rank_counts(H, W, b, t)
    assert int(e.min()) >= 4  # four copies of the target's row, itself included
    assert torch.equal((g + e) % 4, torch.zeros_like(g))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ["linear", "tanh", "elu-0.5"])
def test_random_float64_matches_reference(device, act):
    H, W, b, t = random_inputs(50, 3000, 40, torch.float64, device, seed=1)
    fused, reference = both(H, W, b, t, final_act=act, tile_size=512)
    assert_counts_equal(fused, reference)


@pytest.mark.parametrize("device", DEVICES)
def test_random_float32_close_to_float64(device):
    # Different summation orders may flip near-ties between distinct scores; the fused
    # float32 counts must be as close to float64 truth as the plain float32 reference.
    H, W, b, t = random_inputs(64, 5000, 100, torch.float64, device, seed=2)
    truth = ref.eval_rank_counts(H, W, b, t)[0]
    f32 = [x.float() if x.is_floating_point() else x for x in (H, W, b, t)]
    fused = eval_rank_counts(*f32)[0]
    plain = ref.eval_rank_counts(*f32)[0]
    err_fused = (fused - truth).abs().sum().item()
    err_plain = (plain - truth).abs().sum().item()
    assert err_fused <= 2 * err_plain + 2, (err_fused, err_plain)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_candidates(device, dtype):
    H, W, b, t = tied_inputs(30, 500, 11, dtype, device, seed=5)
    g = torch.Generator().manual_seed(5)
    cand = torch.randint(0, 500, (200,), generator=g).to(device)  # with duplicates
    cand[:10] = t[:10]  # some targets among the candidates, the rest not
    fused, reference = both(H, W, b, t, candidates=cand, final_act="relu", tile_size=32)
    assert_counts_equal(fused, reference)
    # a target is counted once however it appears; rank within candidates + {target}
    assert int((fused[0] + fused[1]).max()) <= 201
    # candidates = all items in order == no candidates
    all_items = torch.arange(500, device=device)
    assert_counts_equal(eval_rank_counts(H, W, b, t, candidates=all_items),
                        eval_rank_counts(H, W, b, t))


@pytest.mark.parametrize("device", DEVICES)
def test_candidates_brute_force(device):
    # Independent check of the candidate semantics on a tiny float64 example.
    H, W, b, t = tied_inputs(6, 20, 5, torch.float64, device, seed=9)
    cand = torch.tensor([3, 3, 7, 0, 19, 12], device=device)
    g, e = eval_rank_counts(H, W, b, t, candidates=cand, final_act="relu")
    S = torch.relu(H @ W.T + b).cpu()
    for i in range(6):
        ti = int(t[i])
        sc = [S[i, int(c)] for c in cand if int(c) != ti]
        assert int(g[i]) == sum(int(s > S[i, ti]) for s in sc)
        assert int(e[i]) == 1 + sum(int(s == S[i, ti]) for s in sc)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_noise_matches_reference_and_breaks_ties(device, dtype):
    H, W, b, t = tied_inputs(33, 700, 9, dtype, device, seed=11)
    plain = eval_rank_counts(H, W, b, t, final_act="relu")
    fused, reference = both(H, W, b, t, final_act="relu", noise_scale=1e-3, noise_seed=42)
    assert_counts_equal(fused, reference)
    assert int(plain[1].max()) > 20 and int(fused[1].max()) <= 2  # ties broken
    # noise only reorders within ties: the noisy rank lies inside the tie range
    lo, hi = ranks_from_counts(*plain, "standard"), ranks_from_counts(*plain, "conservative")
    r = ranks_from_counts(*fused, "tiebreaking")
    assert bool(((r >= lo) & (r <= hi)).all())
    # deterministic under the seed, different for another seed
    assert_counts_equal(fused, eval_rank_counts(H, W, b, t, final_act="relu", noise_scale=1e-3,
                                                noise_seed=42))
    other = eval_rank_counts(H, W, b, t, final_act="relu", noise_scale=1e-3, noise_seed=43)
    assert not torch.equal(other[0], fused[0])


@pytest.mark.parametrize("device", DEVICES)
def test_tiny_noise_in_float32_separates_relu_zeros(device):
    H, W, b, t = tied_inputs(20, 300, 7, torch.float32, device, seed=12)
    W = -W.abs()  # mostly negative logits: relu gives many zeros
    b = torch.full_like(b, -1.0)
    fused, reference = both(H, W, b, t, final_act="relu", noise_scale=1e-10, noise_seed=1)
    assert_counts_equal(fused, reference)


@pytest.mark.parametrize("device", DEVICES)
def test_rowwise_activations_rank_raw_logits(device):
    H, W, b, t = random_inputs(20, 400, 16, torch.float32, device, seed=4, scale=30.0)
    lin = eval_rank_counts(H, W, b, t)
    for act in ["softmax", "softmax_logit"]:
        assert_counts_equal(eval_rank_counts(H, W, b, t, final_act=act), lin)
        assert_counts_equal(ref.eval_rank_counts(H, W, b, t, final_act=act),
                            ref.eval_rank_counts(H, W, b, t))


@pytest.mark.parametrize("device", DEVICES)
def test_tile_size_does_not_change_result(device):
    H, W, b, t = tied_inputs(9, 2000, 24, torch.float32, device, seed=6)
    base = eval_rank_counts(H, W, b, t, final_act="elu-1", tile_size=1 << 20)
    for tile in (1, 16, 100, 4096):
        assert_counts_equal(eval_rank_counts(H, W, b, t, final_act="elu-1", tile_size=tile), base)
    assert_counts_equal(ref.eval_rank_counts(H, W, b, t, final_act="elu-1", chunk_size=77), base)


@pytest.mark.parametrize("device", DEVICES)
def test_empty_batch(device):
    H, W, b, t = random_inputs(0, 10, 4, torch.float32, device)
    g, e = eval_rank_counts(H, W, b, t)
    assert g.shape == (0,) and e.shape == (0,)


@pytest.mark.cuda
@pytest.mark.parametrize("act", ["linear", "relu", "elu-1"])
def test_cuda_equals_cpu_on_exact_data(act):
    H, W, b, t = tied_inputs(70, 5000, 37, torch.float32, "cpu", seed=8)
    cpu = eval_rank_counts(H, W, b, t, final_act=act, noise_scale=1e-3, noise_seed=5)
    gpu = eval_rank_counts(H.cuda(), W.cuda(), b.cuda(), t.cuda(), final_act=act,
                           noise_scale=1e-3, noise_seed=5)
    assert_counts_equal(gpu, cpu)


def test_ranks_from_counts():
    g = torch.tensor([0, 3, 5])
    e = torch.tensor([1, 1, 4])
    assert ranks_from_counts(g, e, "standard").tolist() == [1, 4, 6]
    assert ranks_from_counts(g, e, "tiebreaking").tolist() == [1, 4, 6]
    assert ranks_from_counts(g, e, "conservative").tolist() == [1, 4, 9]
    assert ranks_from_counts(g, e, "median").tolist() == [1.0, 4.0, 7.5]
    with pytest.raises(ValueError, match="rank mode"):
        ranks_from_counts(g, e, "best")


def test_errors():
    H, W, b, t = random_inputs(4, 10, 3, torch.float32, "cpu")
    with pytest.raises(RuntimeError, match="targets"):
        eval_rank_counts(H, W, b, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(RuntimeError, match="candidates"):
        eval_rank_counts(H, W, b, t, candidates=torch.tensor([-1]))
    with pytest.raises(RuntimeError, match="hidden size"):
        eval_rank_counts(H, W[:, :2], b, t)
    with pytest.raises(RuntimeError, match="'W' is Double"):
        eval_rank_counts(H, W.double(), b, t)
    with pytest.raises(RuntimeError, match="int64"):
        eval_rank_counts(H, W, b, t.int())
    with pytest.raises(RuntimeError, match="noise_scale"):
        eval_rank_counts(H, W, b, t, noise_scale=-1.0)
    with pytest.raises(ValueError, match="activation"):
        eval_rank_counts(H, W, b, t, final_act="swish")


# ------------------------------------------------------------------------------------
# The CPU GEMM path (csrc/cpu/eval_rank_cpu.cpp): scores from BLAS tiles, decisions in
# the exact arithmetic (k-sequential dot product, one rounding per product and sum). The
# counts must equal those of that arithmetic bit for bit, on random float data where a
# GEMM's own summation order rounds differently.

@contextlib.contextmanager
def one_thread():
    """Many small element-wise ops: with two threads on a loaded machine their hand-offs
    cost ~20x the work (measured); the results do not depend on the thread count."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        yield
    finally:
        torch.set_num_threads(before)


@one_thread()
def exact_scores(H, W, b, act):
    """act(H . W^T + b) summed k = 0..d-1 from zero, rounding each product and each sum
    in H's dtype (what the kernel's exact arithmetic does); linear/relu/leaky only."""
    S = torch.zeros(H.shape[0], W.shape[0], dtype=H.dtype)
    for k in range(H.shape[1]):
        S = S + H[:, k:k + 1] * W[:, k][None, :]
    X = S + b
    if act == "linear":
        return X
    if act == "relu":
        return torch.where(X > 0, X, torch.zeros_like(X))
    if act == "leaky-0.5":
        return torch.where(X >= 0, X, X * 0.5)
    raise ValueError(act)


@one_thread()
def exact_counts(H, W, b, t, act, candidates=None, noise_scale=0.0, noise_seed=0):
    A = exact_scores(H, W, b, act)
    rows = torch.arange(H.shape[0])
    if noise_scale > 0:  # the op's order: act first, then + scale * u, in H's dtype
        items = torch.arange(W.shape[0])
        A = A + torch.tensor(noise_scale, dtype=A.dtype) * ref.eval_noise_uniform(
            noise_seed, rows, items, A.dtype)
    tscore = A[rows, t]
    cols = torch.arange(W.shape[0]) if candidates is None else candidates
    As = A[:, cols]
    other = cols[None, :] != t[:, None]
    g = ((As > tscore[:, None]) & other).sum(1)
    e = ((As == tscore[:, None]) & other).sum(1) + 1
    return g, e


@one_thread()
def near_tie_inputs(B, n, d, dtype, seed, targets=None):
    """Random rows; for each target, exact copies of its row and copies whose one entry
    is moved by one ulp, scattered over the catalogue (tile boundaries included): ties
    and near-ties whose order a different summation order could get wrong."""
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(B, d, generator=g, dtype=torch.float64).to(dtype)
    W = (torch.randn(n, d, generator=g, dtype=torch.float64) / d ** 0.5).to(dtype)
    b = (torch.randn(n, generator=g, dtype=torch.float64) * 0.1).to(dtype)
    t = torch.randint(0, n, (B,), generator=g) if targets is None else targets
    b[t] = b[t[0]].clone()  # one bias for every target, so copies of different targets compete too
    spots = torch.randperm(n, generator=g)
    spots = spots[~torch.isin(spots, t)]
    for i in range(min(B, len(spots) // 4)):
        src = int(t[i])
        exact, up, down = (int(x) for x in spots[3 * i:3 * i + 3])
        W[exact], b[exact] = W[src], b[src]
        W[up], b[up] = W[src], b[src]
        W[down], b[down] = W[src], b[src]
        k = int(torch.randint(0, d, (1,), generator=g))
        W[up, k] = torch.nextafter(W[src, k], torch.tensor(float("inf"), dtype=dtype))
        W[down, k] = torch.nextafter(W[src, k], torch.tensor(float("-inf"), dtype=dtype))
    return H, W.contiguous(), b, t


@pytest.mark.parametrize("act", ["linear", "relu", "leaky-0.5"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gemm_path_equals_exact_arithmetic(act, dtype):
    # B = 200 gives GEMM tiles of 640 items: the targets sit on both sides of tile
    # boundaries, at the first and at the last item.
    n = 2000
    t = torch.tensor([0, 639, 640, 1279, 1280, 1999] * 34)[:200]
    H, W, b, t = near_tie_inputs(200, n, 100, dtype, seed=21, targets=t)
    truth = exact_counts(H, W, b, t, act)
    for tile in (1, 640, 1 << 20):
        assert_counts_equal(eval_rank_counts(H, W, b, t, final_act=act, tile_size=tile), truth)
    assert int(truth[1].min()) >= 2  # every target has an exact copy somewhere


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gemm_path_duplicate_rows_tie_exactly(dtype):
    # Every item row is one of 5 random rows (bias 0): a target ties exactly with all
    # copies of its row, whatever tile and column each copy falls in.
    g = torch.Generator().manual_seed(22)
    base = torch.randn(5, 64, generator=g, dtype=torch.float64).to(dtype)
    pick = torch.randint(0, 5, (3001,), generator=g)
    W, b = base[pick].contiguous(), torch.zeros(3001, dtype=dtype)
    H = torch.randn(300, 64, generator=g, dtype=torch.float64).to(dtype)
    t = torch.randint(0, 3001, (300,), generator=g)
    ng, ne = eval_rank_counts(H, W, b, t)
    copies = torch.bincount(pick, minlength=5)[pick[t]]
    assert torch.equal(ne, copies)
    assert torch.equal(ng + ne, (exact_scores(H, base, torch.zeros(5, dtype=dtype), "linear")
                                 >= exact_scores(H, base[pick[t]], torch.zeros(300, dtype=dtype),
                                                 "linear").diagonal()[:, None]).long()
                       @ torch.bincount(pick, minlength=5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gemm_path_candidates_and_small_batches(dtype):
    H, W, b, t = near_tie_inputs(7, 777, 33, dtype, seed=23)
    g = torch.Generator().manual_seed(23)
    cand = torch.randint(0, 777, (301,), generator=g)
    cand[:3] = t[:3]            # targets among the candidates (counted once)
    cand[3:6] = cand[6:9]       # duplicate candidates (counted as often as given)
    assert_counts_equal(eval_rank_counts(H, W, b, t, candidates=cand, final_act="relu"),
                        exact_counts(H, W, b, t, "relu", cand))
    for B in (1, 2, 5):         # one-row and odd batches
        assert_counts_equal(eval_rank_counts(H[:B], W, b, t[:B], final_act="leaky-0.5"),
                            exact_counts(H[:B], W, b, t[:B], "leaky-0.5"))
    ng, ne = eval_rank_counts(H[:0], W, b, t[:0], candidates=cand)
    assert ng.shape == (0,) and ne.shape == (0,)


@contextlib.contextmanager
def panel_path():
    """Route float32 calls to the CPU panel path: it takes over when float32 matmuls may
    run in reduced precision (the GEMM path's error bound would not hold)."""
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        yield
    finally:
        torch.set_float32_matmul_precision(before)


@pytest.mark.parametrize("act", ELEMENTWISE)
def test_gemm_path_equals_panel_path(act):
    # The panel path scores everything in the exact arithmetic: the two must agree bit
    # for bit, saturated activations (elu/selu/tanh far below zero, relu zeros) included.
    H, W, b, t = near_tie_inputs(150, 3000, 50, torch.float32, seed=24)
    H[::3] *= 40.0   # scores far into the saturated ranges for every third row
    gemm = eval_rank_counts(H, W, b, t, final_act=act)
    with panel_path():
        panel = eval_rank_counts(H, W, b, t, final_act=act)
    assert_counts_equal(gemm, panel)
    assert int(gemm[1].max()) > 2


# Noise scales against scores of order 1 (and 40 in the saturated rows): far below the
# rounding of float32 and float64 scores (only exact zeros move), near one float32 ulp,
# a fraction of the spread, and so large that nearly every item is in the band.
NOISE_SCALES = [1e-30, 1e-10, 1e-7, 1e-3, 0.3, 1e3]


@pytest.mark.parametrize("act", ELEMENTWISE)
@pytest.mark.parametrize("noise", NOISE_SCALES)
def test_gemm_path_equals_panel_path_with_noise(act, noise):
    # Tie-breaking: items sure to be above or below the noisy target are counted from
    # the GEMM, the band of width ~noise below it rescored with the item's own noise.
    H, W, b, t = near_tie_inputs(61, 1500, 50, torch.float32, seed=25)
    H[::3] *= 40.0
    gemm = eval_rank_counts(H, W, b, t, final_act=act, noise_scale=noise, noise_seed=7)
    with panel_path():
        panel = eval_rank_counts(H, W, b, t, final_act=act, noise_scale=noise, noise_seed=7)
    assert_counts_equal(gemm, panel)


@pytest.mark.parametrize("act", ["linear", "relu", "leaky-0.5"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("noise", NOISE_SCALES)
def test_gemm_path_with_noise_equals_exact_arithmetic(act, dtype, noise):
    # Targets at both ends of the 640-item GEMM tiles (B = 200), exact copies and
    # one-ulp neighbours of each target's row: ties that only the noise breaks.
    n = 2000
    t = torch.tensor([0, 639, 640, 1279, 1280, 1999] * 34)[:200]
    H, W, b, t = near_tie_inputs(200, n, 40, dtype, seed=26, targets=t)
    truth = exact_counts(H, W, b, t, act, noise_scale=noise, noise_seed=3)
    for tile in (640, 1 << 20):
        got = eval_rank_counts(H, W, b, t, final_act=act, noise_scale=noise, noise_seed=3,
                               tile_size=tile)
        assert_counts_equal(got, truth)
    plain = exact_counts(H, W, b, t, act)
    if noise >= 1e-3:
        assert int(truth[1].sum()) < int(plain[1].sum()) // 10  # the ties are broken
    if noise == 1e-30 and act != "relu":
        assert torch.equal(truth[0], plain[0])  # below rounding: ties stay ties
        assert int(truth[1].min()) >= 2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("noise", [1e-30, 1e-10, 0.5, 1e3])
def test_gemm_path_with_noise_planted_ties_candidates_small_batches(dtype, noise):
    # Integer data (every score exact in any summation order, so the PyTorch reference
    # is exact too): relu zeros and duplicate rows tie unless the noise moves them.
    H, W, b, t = tied_inputs(37, 1003, 13, dtype, "cpu", seed=27)
    kw = dict(final_act="relu", noise_scale=noise, noise_seed=5)
    fused, reference = both(H, W, b, t, **kw)
    assert_counts_equal(fused, reference)
    g = torch.Generator().manual_seed(27)
    cand = torch.randint(0, 1003, (301,), generator=g)
    cand[:3] = t[:3]            # targets among the candidates (counted once)
    cand[3:6] = cand[6:9]       # duplicate candidates (counted as often as given)
    for B in (1, 2, 5, 37):     # one-row and odd batches
        fused, reference = both(H[:B], W, b, t[:B], candidates=cand, **kw)
        assert_counts_equal(fused, reference)
        if dtype == torch.float32:
            with panel_path():
                assert_counts_equal(fused, eval_rank_counts(H[:B], W, b, t[:B], candidates=cand, **kw))
    if noise == 1e-30:          # ties among positive scores survive, relu zeros do not
        assert int(fused[1].max()) > 2
