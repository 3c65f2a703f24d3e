"""topk_scores against its plain-PyTorch reference: order (ties to the lower id),
scores after the final activation, duplicates, exclusions, padding, tiling."""
import pytest
import torch

from support import DEVICES

from gru4rec_fast.ops import exclusion_csr, topk_scores
from gru4rec_fast.ops import reference as ref

ACTS = ["linear", "relu", "tanh", "leaky-0.5", "elu-1", "selu-1.0507-1.67326", "softmax",
        "softmax_logit"]


def random_inputs(B, n, d, dtype, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(B, d, generator=g, dtype=torch.float64).to(dtype)
    W = (torch.randn(n, d, generator=g, dtype=torch.float64) / d ** 0.5).to(dtype)
    b = (torch.randn(n, generator=g, dtype=torch.float64) * 0.1).to(dtype)
    return [x.to(device) for x in (H, W, b)]


def tied_inputs(B, n, d, dtype, device, seed=0):
    """Small integers (every dot product exact in float32 whatever the summation order)
    and few distinct item rows: many exactly equal logits."""
    g = torch.Generator().manual_seed(seed)
    H = torch.randint(-2, 3, (B, d), generator=g).to(dtype)
    base = torch.randint(-1, 2, (max(2, n // 8), d), generator=g).to(dtype)
    base_b = torch.randint(-1, 2, (len(base),), generator=g).to(dtype)
    pick = torch.randint(0, len(base), (n,), generator=g)
    return [x.to(device) for x in (H, base[pick].contiguous(), base_b[pick].contiguous())]


def assert_same(fused, reference, exact_scores=False):
    (fs, fi), (rs, ri) = fused, reference
    assert fi.dtype == torch.long and fs.dtype == reference[0].dtype
    assert torch.equal(fi.cpu(), ri.cpu()), (fi, ri)
    if exact_scores:
        assert torch.equal(fs.cpu().isnan(), rs.cpu().isnan())
        assert torch.equal(fs.cpu().nan_to_num(), rs.cpu().nan_to_num())
    else:
        torch.testing.assert_close(fs.cpu(), rs.cpu(), equal_nan=True, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ACTS)
def test_random_float64_matches_reference(device, act):
    H, W, b = random_inputs(7, 1001, 13, torch.float64, device, seed=ACTS.index(act))
    assert_same(topk_scores(H, W, b, 17, final_act=act, tile_size=128),
                ref.topk_scores(H, W, b, 17, final_act=act))


@pytest.mark.parametrize("device", DEVICES)
def test_random_float32(device):
    H, W, b = random_inputs(33, 5003, 24, torch.float32, device, seed=3)
    assert_same(topk_scores(H, W, b, 20, tile_size=1000), ref.topk_scores(H, W, b, 20))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ties_go_to_the_lower_id(device, dtype):
    H, W, b = tied_inputs(9, 515, 5, dtype, device, seed=1)
    fs, fi = topk_scores(H, W, b, 40, tile_size=64)
    assert_same((fs, fi), ref.topk_scores(H, W, b, 40), exact_scores=True)
    logits = (H @ W.T + b).cpu()
    for r in range(H.shape[0]):      # brute force: sort by (-logit, id)
        order = sorted(range(W.shape[0]), key=lambda j: (-float(logits[r, j]), j))[:40]
        assert fi[r].tolist() == order
    assert (fs[:, :-1] == fs[:, 1:]).any()   # the data really has ties


@pytest.mark.parametrize("device", DEVICES)
def test_candidates_with_duplicates(device):
    H, W, b = random_inputs(6, 300, 8, torch.float64, device, seed=4)
    g = torch.Generator().manual_seed(5)
    cand = torch.randint(0, 300, (90,), generator=g)
    cand = torch.cat([cand, cand[:30]]).to(device)            # duplicate ids
    fs, fi = topk_scores(H, W, b, 25, candidates=cand, tile_size=16)
    assert_same((fs, fi), ref.topk_scores(H, W, b, 25, candidates=cand))
    for r in range(6):
        row = [i for i in fi[r].tolist() if i >= 0]
        assert len(row) == len(set(row)) and set(row) <= set(cand.tolist())
    # more than the distinct candidates: padded with -1 / NaN
    n_distinct = len(set(cand.tolist()))
    fs, fi = topk_scores(H, W, b, n_distinct + 5, candidates=cand, tile_size=16)
    assert (fi[:, :n_distinct] >= 0).all() and (fi[:, n_distinct:] == -1).all()
    assert fs[:, n_distinct:].isnan().all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ["linear", "softmax"])
def test_exclusion(device, act):
    H, W, b = random_inputs(5, 200, 8, torch.float64, device, seed=6)
    full_s, full_i = topk_scores(H, W, b, 10, final_act=act)
    # row r excludes its own first r best items (row 0 nothing) and an id twice
    lists = [full_i[r, :r].tolist() + ([int(full_i[r, 0])] * 2 if r == 4 else []) for r in range(5)]
    off, ids = exclusion_csr(lists, device)
    fs, fi = topk_scores(H, W, b, 10, exclude_offsets=off, exclude_ids=ids, final_act=act,
                         tile_size=32)
    assert_same((fs, fi), ref.topk_scores(H, W, b, 10, exclude_offsets=off, exclude_ids=ids,
                                          final_act=act))
    for r in range(5):
        assert fi[r, :10 - r].tolist() == full_i[r, r:].tolist()
        # scores unchanged: softmax still normalises over all items
        torch.testing.assert_close(fs[r, :10 - r], full_s[r, r:])


@pytest.mark.parametrize("device", DEVICES)
def test_k_beyond_items_pads(device):
    H, W, b = random_inputs(3, 7, 4, torch.float32, device, seed=7)
    fs, fi = topk_scores(H, W, b, 10)
    assert fi.shape == (3, 10) and (fi[:, 7:] == -1).all() and fs[:, 7:].isnan().all()
    assert sorted(fi[0, :7].tolist()) == list(range(7))
    assert_same((fs, fi), ref.topk_scores(H, W, b, 10))


@pytest.mark.parametrize("device", DEVICES)
def test_one_row_k1_and_empty(device):
    H, W, b = random_inputs(1, 50, 3, torch.float32, device, seed=8)
    fs, fi = topk_scores(H, W, b, 1)
    assert int(fi[0, 0]) == int(torch.argmax((H @ W.T + b)[0]))
    e_s, e_i = topk_scores(H[:0], W, b, 4)
    assert e_s.shape == (0, 4) and e_i.shape == (0, 4)


@pytest.mark.parametrize("device", DEVICES)
def test_tile_size_does_not_change_result(device):
    H, W, b = random_inputs(11, 777, 9, torch.float64, device, seed=9)
    base = topk_scores(H, W, b, 30, final_act="softmax_logit", tile_size=10 ** 6)
    for tile in (1, 7, 64, 776):
        assert_same(topk_scores(H, W, b, 30, final_act="softmax_logit", tile_size=tile), base,
                    exact_scores=False)


def test_thread_count_does_not_change_result():
    # big enough that the kernel splits the 40 tiles over tasks (>= 2^24 multiply-adds
    # per task: 8 tiles of 64 x 512 x 64)
    H, W, b = random_inputs(64, 20480, 64, torch.float32, "cpu", seed=10)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = topk_scores(H, W, b, 25, tile_size=512)
        torch.set_num_threads(2)
        two = topk_scores(H, W, b, 25, tile_size=512)
    finally:
        torch.set_num_threads(before)
    assert_same(one, two, exact_scores=True)


def test_bad_arguments():
    H, W, b = random_inputs(2, 10, 3, torch.float32, "cpu")
    with pytest.raises(RuntimeError, match="k must be >= 1"):
        topk_scores(H, W, b, 0)
    with pytest.raises(RuntimeError, match="candidates.*must be in"):
        topk_scores(H, W, b, 3, candidates=torch.tensor([0, 10]))
    with pytest.raises(RuntimeError, match="second dimensions"):
        topk_scores(H, W[:, :2].contiguous(), b, 3)
    with pytest.raises(RuntimeError, match="exclude_offsets must be empty or have"):
        topk_scores(H, W, b, 3, exclude_offsets=torch.tensor([0, 1]), exclude_ids=torch.tensor([1]))
    with pytest.raises(RuntimeError, match="b has 9 entries"):
        topk_scores(H, W, b[:9], 3)
    with pytest.raises(ValueError, match="both exclude_offsets and exclude_ids"):
        topk_scores(H, W, b, 3, exclude_offsets=torch.tensor([0, 0, 0]))


@pytest.mark.cuda
@pytest.mark.parametrize("act", ["linear", "relu", "softmax"])
def test_cuda_equals_cpu_on_exact_data(act):
    H, W, b = tied_inputs(20, 3001, 6, torch.float32, "cpu", seed=11)
    cpu = topk_scores(H, W, b, 50, final_act=act)
    gpu = topk_scores(H.cuda(), W.cuda(), b.cuda(), 50, final_act=act, tile_size=512)
    assert torch.equal(cpu[1], gpu[1].cpu())
    torch.testing.assert_close(cpu[0], gpu[0].cpu(), equal_nan=True)


@pytest.mark.parametrize("act", ["linear", "softmax", "softmax_logit"])
def test_several_gemms_per_tile(act):
    # B = 200: the CPU kernel scores a tile in GEMMs of 640 items, so a tile of 2000
    # items takes four (the last one partial) and a tile of 700 two; the top-k and the
    # row-wise normalisation run across them. Candidates with duplicates and exclusions
    # go through the gathered path.
    H, W, b = random_inputs(200, 5003, 24, torch.float64, "cpu", seed=31)
    for tile in (700, 2000, 10 ** 6):
        assert_same(topk_scores(H, W, b, 30, final_act=act, tile_size=tile),
                    ref.topk_scores(H, W, b, 30, final_act=act))
    g = torch.Generator().manual_seed(31)
    cand = torch.randint(0, 5003, (1500,), generator=g)
    off, ids = exclusion_csr([cand[i:i + 3].tolist() for i in range(200)])
    assert_same(topk_scores(H, W, b, 25, candidates=cand, exclude_offsets=off, exclude_ids=ids,
                            final_act=act, tile_size=900),
                ref.topk_scores(H, W, b, 25, candidates=cand, exclude_offsets=off,
                                exclude_ids=ids, final_act=act))
