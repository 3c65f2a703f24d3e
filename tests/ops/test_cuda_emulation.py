"""What the CUDA emulation adds beyond the per-op `cuda-emu` variants: results that do
not depend on the thread order (bit-identical under several schedule seeds, as the
kernels promise run to run on a GPU), the race that the emulation found in fused_loss,
and eval_rank's shared-memory launch configuration (a hardware limit the emulation
cannot see, so it is checked as a function)."""
import pytest
import torch

import cuda_emu
from support import CUDA_EMU

from gru4rec_fast.ops import eval_rank_counts
from gru4rec_fast.ops import reference as ref
from gru4rec_fast.ops.fused_loss import fused_loss_fwd_bwd
from gru4rec_fast.ops.sparse_row_update import SparseRowState, sparse_row_update_

pytestmark = pytest.mark.cuda_emu
SEEDS = [1, 2, 3, 4]


def _under_seeds(fn):
    mod = cuda_emu.module()
    outs = []
    for s in SEEDS:
        mod.set_schedule_seed(cuda_emu.base_seed() + s)
        outs.append(fn())
    return outs


@pytest.mark.parametrize("device", [CUDA_EMU])
@pytest.mark.parametrize("loss,act", [("bpr-max", "elu-0.5"), ("cross-entropy", "softmax"),
                                      ("xe_logit", "softmax_logit"), ("top1-max", "tanh")])
def test_fused_loss_bit_identical_across_thread_orders(device, loss, act):
    g = torch.Generator().manual_seed(3)
    scores = torch.randn(9, 301, generator=g, dtype=torch.float64)  # 256 threads, a tail
    outs = _under_seeds(lambda: fused_loss_fwd_bwd(scores, loss, act, bpreg=0.5, scale=1 / 9))
    for v, gr in outs[1:]:
        assert torch.equal(v, outs[0][0]) and torch.equal(gr, outs[0][1])


@pytest.mark.parametrize("device", [CUDA_EMU])
@pytest.mark.parametrize("loss,act", [("cross-entropy", "softmax"), ("xe_logit", "softmax_logit")])
def test_fused_loss_positive_read_before_overwrite(device, loss, act):
    """The race the emulation found: with smoothing 0 nothing separated every thread's read
    of the positive's y from its owner overwriting it with the gradient, so the row loss
    of rows >= 1 was wrong under most thread orders. Every row, several orders."""
    g = torch.Generator().manual_seed(4)
    scores = torch.randn(40, 70, generator=g, dtype=torch.float64)
    v64, g64 = ref.fused_loss_fwd_bwd(scores, loss, act, scale=1.0)
    for v, gr in _under_seeds(lambda: fused_loss_fwd_bwd(scores, loss, act, scale=1.0)):
        torch.testing.assert_close(v, v64, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(gr, g64, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("device", [CUDA_EMU])
@pytest.mark.parametrize("opt", ["adam", "adadelta", "rmsprop"])
def test_sparse_row_update_bit_identical_across_thread_orders(device, opt):
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 20, (61,), generator=g)  # many duplicates
    grads = torch.randn(61, 37, generator=g)

    def run():
        param = torch.randn(20, 37, generator=torch.Generator().manual_seed(6))
        state = SparseRowState(param, opt, momentum=0.3)
        for _ in range(2):
            sparse_row_update_(param, ids, grads, state, lr=0.1, momentum=0.3, lmbd=0.01)
        return param

    outs = _under_seeds(run)
    for p in outs[1:]:
        assert torch.equal(p, outs[0])


@pytest.mark.parametrize("device", [CUDA_EMU])
def test_eval_rank_counts_identical_across_thread_orders(device):
    g = torch.Generator().manual_seed(7)
    H = torch.randint(-2, 3, (19, 5), generator=g).float()
    W = torch.randint(-1, 2, (300, 5), generator=g).float()
    b = torch.zeros(300)
    t = torch.randint(0, 300, (19,), generator=g)
    outs = _under_seeds(lambda: eval_rank_counts(H, W, b, t, final_act="relu"))
    for gt, eq in outs[1:]:
        assert torch.equal(gt, outs[0][0]) and torch.equal(eq, outs[0][1])


@pytest.mark.parametrize("float64", [False, True], ids=["f32", "f64"])
def test_eval_rank_launch_config_counts_static_shared(float64):
    """A block may use 48 KiB of static + dynamic shared memory without opting in. The
    dynamic part (16 rows of H) alone reaches 48 KiB only at d = 768 (f32) / 384 (f64);
    with the static arrays the opt-in is needed from d = 764 / 382 on."""
    mod = cuda_emu.module()
    elem = 8 if float64 else 4
    first_optin = 382 if float64 else 764
    for d in range(first_optin - 5, first_optin + 10):
        c = mod.eval_rank_launch_config(100, d, 5000, float64)
        assert c["dynamic_bytes"] == 16 * d * elem
        assert c["static_bytes"] >= 16 * (elem + 8 + 8)  # t_score, t_item, row_key
        assert bool(c["needs_optin"]) == (c["dynamic_bytes"] + c["static_bytes"] > 48 * 1024)
        assert bool(c["needs_optin"]) == (d >= first_optin), d
    c = mod.eval_rank_launch_config(100, 64, 5000, float64)
    assert (c["grid_x"], c["grid_y"]) == ((5000 + 127) // 128, (100 + 15) // 16)


@pytest.mark.parametrize("device", [CUDA_EMU])
@pytest.mark.parametrize("d", [770])
def test_eval_rank_runs_with_opt_in_shared_memory(device, d):
    """Above 48 KiB the emulated launch fails unless the launcher opted in (as CUDA does)."""
    H, W, b, t = (torch.randn(3, d), torch.randn(40, d) / d ** 0.5, torch.zeros(40),
                  torch.tensor([0, 5, 39]))
    fused = eval_rank_counts(H, W, b, t)
    reference = ref.eval_rank_counts(H, W, b, t)
    assert torch.equal(fused[0], reference[0]) and torch.equal(fused[1], reference[1])
