"""Sampled output scores S = H . W[Y]^T + b[Y] with a row-sparse backward.

The gradients of W and b come back as *uncoalesced* sparse COO tensors (indices Y, one
row per column of S; duplicates of Y are not summed), so nothing of size n_items x d is
allocated; sparse_row_update_ sums the duplicates when it applies the update.
The operators are torch.ops.gru4rec_fast.sampled_scores_{forward,backward}.
"""
import torch

from gru4rec_fast import _ext
from gru4rec_fast.ops import _library


def _sparse_rows(Y, values, size):
    """Uncoalesced COO tensor of `size` with rows Y[j] = values[j] (no dense allocation)."""
    return torch.sparse_coo_tensor(Y.unsqueeze(0), values, size, is_coalesced=False,
                                   check_invariants=False)


def register(ns):
    """Fake kernels of sampled_scores_{forward,backward} and the forward's autograd."""
    ops = getattr(torch.ops, ns)

    @torch.library.register_fake(f"{ns}::sampled_scores_forward")
    def _(H, W, b, Y):
        _library.same_device("sampled_scores_forward", "H", H, W=W, b=b, Y=Y)
        return H.new_empty((H.shape[0], Y.shape[0]))

    @torch.library.register_fake(f"{ns}::sampled_scores_backward")
    def _(dS, H, W, Y):
        _library.same_device("sampled_scores_backward", "H", H, dS=dS, W=W, Y=Y)
        return H.new_empty(H.shape), H.new_empty((Y.shape[0], H.shape[1])), H.new_empty(Y.shape[0])

    def setup_context(ctx, inputs, output):
        H, W, b, Y = inputs
        ctx.save_for_backward(H, W, Y)
        ctx.w_size, ctx.b_size = W.shape, b.shape

    def backward(ctx, dS):
        H, W, Y = ctx.saved_tensors
        dH, dW_rows, db_rows = ops.sampled_scores_backward(dS, H, W, Y)
        gW = _sparse_rows(Y, dW_rows, ctx.w_size) if ctx.needs_input_grad[1] else None
        gb = _sparse_rows(Y, db_rows, ctx.b_size) if ctx.needs_input_grad[2] else None
        return (dH if ctx.needs_input_grad[0] else None), gW, gb, None

    torch.library.register_autograd(f"{ns}::sampled_scores_forward", backward,
                                    setup_context=setup_context)


def sampled_scores(H, W, b, Y):
    """Scores of the columns Y: S = H @ W[Y].T + b[Y], differentiable.

    Args:
        H: (B, d) float32/float64 hidden states.
        W: (n, d) item table (same dtype and device).
        b: (n,) item biases.
        Y: (N,) int64 ids in [0, n); duplicates allowed.
    Returns:
        S: (B, N). B = 0 gives a (0, N) tensor and N = 0 a (B, 0) tensor; their
        gradients are zeros of the right shape (empty sparse ones for W and b).

    Gradients: H gets a dense (B, d) gradient; W and b get uncoalesced sparse COO
    gradients of W's and b's size, with indices Y and values dS^T H (N, d) and
    dS.sum(0) (N,). Nothing dense of size n x d is ever allocated.
    """
    return _library.call(_ext.ops().sampled_scores_forward.default, H, W, b, Y)


def sampled_scores_backward(dS, H, W, Y):
    """Raw backward: (dH (B, d), dW_rows (N, d), db_rows (N,)) for dS (B, N).

    dW_rows[j] is the gradient of the row W[Y[j]] through column j alone (duplicate
    ids are not summed); db_rows[j] likewise for b[Y[j]].
    """
    return _ext.ops().sampled_scores_backward(dS, H, W, Y)
