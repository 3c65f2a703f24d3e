"""Inference forward pass (no dropout, no autograd) shared by evaluation and serving."""
import torch

from gru4rec_fast.model import network


def ops_module(backend):
    """The op namespace of a backend: the fused ops or their plain-PyTorch twins."""
    if backend == "reference":
        from gru4rec_fast.ops import reference
        return reference
    import gru4rec_fast.ops as ops
    return ops


@torch.no_grad()
def forward_step(weights, hyper, X, H, reset=None, backend="fused"):
    """One step of the network for item codes X (B,) int64 and hidden states H (one
    B x d_l tensor per layer). Returns the new hidden states; the last is the output."""
    ops = ops_module(backend)
    mode = network.embedding_mode(hyper)
    act = hyper["hidden_act"]
    w = weights
    if mode == "shared":
        x = w["Wy"].index_select(0, X)
    elif mode == "separate":
        x = w["E"].index_select(0, X)
    else:
        x = None
    outs = []
    for l in range(len(hyper["layers"])):
        if l == 0 and mode == "none":
            vx = w["Wx0"].index_select(0, X).add_(w["b.0"])
        else:
            vx = torch.addmm(w[f"b.{l}"], x, w[f"Wx.{l}"])
        x = ops.gru_step(vx, H[l], w[f"Wrz.{l}"], w[f"Wh.{l}"], reset, None, act)
        outs.append(x)
    return outs
