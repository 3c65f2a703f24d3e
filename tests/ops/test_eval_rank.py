"""eval_rank_counts against the chunked plain-PyTorch reference, exact ties included."""
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
