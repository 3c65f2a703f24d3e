"""The ops as torch.library operators: opcheck of every op (schema and mutation
annotations, fake kernel, autograd registration, AOT dispatch) on every device, a
torch.compile(fullgraph=True) of sampled scoring -> fused loss -> backward, and a
torch.export of the serving path (last hidden state -> top-k items)."""
import pytest
import torch

from gru4rec_fast import _ext, ops
from gru4rec_fast.ops import enums, reference
from support import DEVICES


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _f(g, *shape, device, dtype=torch.float64, grad=False):
    return torch.randn(*shape, generator=g, dtype=dtype).to(device).requires_grad_(grad)


def _ids(g, n, size, device):
    # n small against size: duplicate ids are certain
    return torch.randint(0, n, (size,), generator=g).to(device)


# (case id, builder(device, B) -> (op name, args)); B = 1 is the one-row batch.
def _sampled_scores_forward(dev, B):
    g = _gen(1)
    n, d = 5, 3
    return "sampled_scores_forward", (_f(g, B, d, device=dev, grad=True),
                                      _f(g, n, d, device=dev, grad=True),
                                      _f(g, n, device=dev, grad=True), _ids(g, n, 7, dev))


def _sampled_scores_backward(dev, B):
    g = _gen(2)
    n, d, N = 5, 3, 7
    return "sampled_scores_backward", (_f(g, B, N, device=dev), _f(g, B, d, device=dev),
                                       _f(g, n, d, device=dev), _ids(g, n, N, dev))


def _fused_loss(dev, B):
    g = _gen(3)
    N = B + 4
    return "fused_loss_fwd_bwd", (_f(g, B, N, device=dev, grad=True), _f(g, N, device=dev),
                                  enums.parse_loss("bpr-max"), int(enums.ACT_LINEAR), 0.0, 0.0,
                                  1.0, 0.0, 1.0 / B)


def _sparse_row_update(dev, B):
    g = _gen(4)
    n, d = 6, 3
    param = _f(g, n, d, device=dev)
    st = ops.SparseRowState(param, "adam", momentum=0.5)
    ids = _ids(g, 3, 4 * B, dev)
    return "sparse_row_update_", (param, ids, _f(g, 4 * B, d, device=dev), st.state1, st.state2,
                                  st.velocity, st.step_count, enums.OPT_ADAM, 0.1, 0.5, 0.01,
                                  1e-6, 0.9, 0.999, True)


def _gru_step_forward(dev, B):
    g = _gen(5)
    d = 4
    reset = (torch.arange(B) % 2 == 0).to(dev)
    mask = (torch.rand(B, d, generator=g, dtype=torch.float64) > 0.3).double().to(dev) / 0.7
    return "gru_step_forward", (_f(g, B, 3 * d, device=dev, grad=True),
                                _f(g, B, d, device=dev, grad=True),
                                _f(g, d, 2 * d, device=dev, grad=True),
                                _f(g, d, d, device=dev, grad=True), reset, mask,
                                int(enums.ACT_TANH), 0.0, 0.0)


def _gru_step_backward(dev, B):
    _, args = _gru_step_forward(dev, B)
    args = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
    with torch.no_grad():
        out, *saved = _ext.ops().gru_step_forward(*args)
    g = _gen(6)
    return "gru_step_backward", (_f(g, *out.shape, device=dev), saved, *args[2:])


def _eval_rank_counts(dev, B):
    g = _gen(7)
    n, d = 6, 3
    W = _f(g, n, d, device=dev)
    W[1] = W[0]  # an exact tie
    return "eval_rank_counts", (_f(g, B, d, device=dev), W, _f(g, n, device=dev),
                                _ids(g, n, B, dev), _ids(g, n, 5, dev), int(enums.ACT_LINEAR),
                                0.0, 0.0, 0.0, 3, 4)


def _cdf_sample(dev, B):
    cdf = torch.tensor([0.1, 0.1, 0.5, 1.0], dtype=torch.float64).to(dev)
    return "cdf_sample", (cdf, 3 * B, 11, 5)


def _cdf_search(dev, B):
    cdf = torch.tensor([0.1, 0.1, 0.5, 1.0], dtype=torch.float64).to(dev)
    return "cdf_search", (cdf, torch.rand(B, 3, generator=_gen(8), dtype=torch.float64).to(dev))


def _topk_scores(dev, B):
    g = _gen(9)
    n, d = 7, 3
    # duplicate candidates; row i excludes two ids; >= k rankable items per row (a
    # padded row's NaN scores would not compare equal in opcheck)
    cand = torch.tensor([0, 1, 2, 3, 3, 5, 6, 0]).to(dev)
    offsets = torch.arange(0, 2 * B + 1, 2).to(dev)
    excl = torch.tensor([[i % n, (i + 3) % n] for i in range(B)]).flatten().to(dev)
    return "topk_scores", (_f(g, B, d, device=dev), _f(g, n, d, device=dev), _f(g, n, device=dev),
                           cand, offsets, excl, 3, int(enums.ACT_LINEAR), 0.0, 0.0, 4)


CASES = [_sampled_scores_forward, _sampled_scores_backward, _fused_loss, _sparse_row_update,
         _gru_step_forward, _gru_step_backward, _eval_rank_counts, _cdf_sample, _cdf_search,
         _topk_scores]


def test_every_op_has_a_case():
    """Each operator the extension defines is opchecked below."""
    names = {c("cpu", 1)[0] for c in CASES}
    prefix = _ext.ops().name + "::"
    defined = {op[len(prefix):] for op in torch._C._dispatch_get_all_op_names()
               if op.startswith(prefix)}
    assert defined == names


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("case", CASES, ids=[c.__name__.lstrip("_") for c in CASES])
@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device, case, B):
    torch.set_num_threads(1)
    name, args = case(device, B)
    torch.library.opcheck(getattr(_ext.ops(), name), args)


def test_schema_declares_in_place_writes():
    schema = _ext.ops().sparse_row_update_.default._schema
    written = [a.name for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write]
    assert written == ["param", "state1", "state2", "velocity", "step_count"]
    assert schema.returns == []


def _loss_fn(H, W, b, Y):
    S = ops.sampled_scores(H, W, b, Y)
    return ops.fused_loss(S, "bpr-max", "linear", bpreg=0.5, scale=1.0 / H.shape[0])


@pytest.mark.parametrize("device", DEVICES)
def test_compile_scores_loss_backward_fullgraph(device):
    """sampled_scores -> fused_loss -> backward under torch.compile(fullgraph=True):
    one graph, no break, and the loss and the gradients of H, W and b match eager.
    backend="aot_eager" traces forward and backward through the fake kernels and the
    registered autograd, as inductor would, without a C++ compile (slow on CI)."""
    torch.set_num_threads(1)
    g = _gen(10)
    B, n, d = 3, 9, 4
    H0, W0, b0 = _f(g, B, d, device=device), _f(g, n, d, device=device), _f(g, n, device=device)
    Y = torch.cat([_ids(g, n, B, device), _ids(g, 4, 6, device)])  # duplicates
    _ext.ops()  # register before compiling (as any first call would)
    explained = torch._dynamo.explain(_loss_fn)(H0, W0, b0, Y)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    torch._dynamo.reset()

    def run(fn):
        H, W, b = (t.clone().requires_grad_(True) for t in (H0, W0, b0))
        loss = fn(H, W, b, Y)
        loss.backward()
        return loss.detach(), H.grad, W.grad.to_dense(), b.grad.to_dense()

    compiled = torch.compile(_loss_fn, fullgraph=True, backend="aot_eager")
    want, got = run(_loss_fn), run(compiled)
    ref = reference.fused_loss(reference.sampled_scores(H0, W0, b0, Y), "bpr-max", "linear",
                               bpreg=0.5, scale=1.0 / B)
    torch.testing.assert_close(want[0], ref)
    for w, c in zip(want, got):
        torch.testing.assert_close(c, w)
    torch._dynamo.reset()


class _Serve(torch.nn.Module):
    """The serving path after the GRU: last hidden state -> top-k items and scores."""

    def __init__(self, W, b, k):
        super().__init__()
        self.W, self.b, self.k = torch.nn.Parameter(W), torch.nn.Parameter(b), k

    def forward(self, h):
        return ops.topk_scores(h, self.W, self.b, self.k, final_act="softmax")


@pytest.mark.parametrize("device", DEVICES)
def test_export_serving_path(device):
    torch.set_num_threads(1)
    g = _gen(11)
    model = _Serve(_f(g, 20, 5, device=device), _f(g, 20, device=device), 4)
    _ext.ops()
    h = _f(g, 3, 5, device=device)
    exported = torch.export.export(model, (h,))
    targets = {str(n.target) for n in exported.graph.nodes if n.op == "call_function"}
    assert any("topk_scores" in t for t in targets), targets
    h2 = _f(g, 3, 5, device=device)  # new inputs, same shapes
    for x in (h, h2):
        got, want = exported.module()(x), model(x)
        torch.testing.assert_close(got[0], want[0])
        assert torch.equal(got[1], want[1])
    scores, ids = exported.module()(h2)
    assert ids.shape == (3, 4) and scores.dtype == h2.dtype
