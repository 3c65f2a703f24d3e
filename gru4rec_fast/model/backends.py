"""The two training backends: one session-parallel mini-batch step each (SPEC 2-6).

Both take the step's inputs X (B,), targets T (B,), reset (B,) bool, extra samples S
(n_sample,) or None, and the hidden states carried from the previous step (one B x d
tensor per layer, already re-rowed for this step); they run forward, backward and the
optimiser update, and return (loss, new hidden states). The loss is a 0-dim tensor on
the device (no host sync). The hidden state carried on is the dropped-out output of each
layer, detached: there is no back-propagation across steps.

``ReferenceStep`` is the straightforward PyTorch way (the way the authors' PyTorch port
works): the rows of the item tables used in the step are gathered into small leaf
tensors, the forward is built from the plain-PyTorch ops of
``gru4rec_fast.ops.reference`` and autograd gives the gradients; the rows are then
updated with the reference row-sparse update.

``FusedStep`` has no autograd at all: fused forward kernels, the loss kernel that
returns its own gradient, hand-chained fused backward kernels, and the fused row-sparse
update that sums duplicate ids and touches only used rows.

Gradients of the item tables are per occurrence (one row per use, as the gradient with
respect to the gathered sub-tensor in the reference code); ``grad_cap`` caps the global
norm over all of these and the dense gradients.
"""
import math

import torch

from gru4rec_fast.ops import enums
from gru4rec_fast.model import network
from gru4rec_fast.model.optim import DenseState, dense_update_, resolve_adapt_params


class _StepBase:
    def __init__(self, model, weights, supports, generator):
        p = model.hyper
        self.p = p
        self.w = weights
        self.mode = network.embedding_mode(p)
        self.n_layers = len(p["layers"])
        self.hidden_act = enums.parse_activation(p["hidden_act"], hidden=True)
        self.final_act = enums.parse_activation(p["final_act"])
        self.loss = p["loss"]
        self.scale = 1.0 / p["batch_size"]
        self.gen = generator
        self.adapt = p["adapt"]
        self.adapt_params = resolve_adapt_params(self.adapt, p["adapt_params"])
        self.lr, self.momentum, self.lmbd = p["learning_rate"], p["momentum"], p["lmbd"]
        self.grad_cap = p["grad_cap"]
        dev, dt = weights["Wy"].device, weights["Wy"].dtype
        self.device, self.dtype = dev, dt
        # logQ correction (training only): log(supp) per item, ready to gather.
        self.logq = p["logq"]
        if self.logq > 0:
            self.log_supp = torch.log(torch.as_tensor(supports, dtype=torch.float64)
                                      .clamp_min(1e-30)).to(device=dev, dtype=dt)
        from gru4rec_fast.ops.sparse_row_update import SparseRowState
        self.sparse_states = {k: SparseRowState(weights[k], self.adapt, self.momentum)
                              for k in network.SPARSE_NAMES if k in weights}
        self.dense_states = {k: DenseState(weights[k], self.adapt, self.momentum)
                             for k in network.dense_names(weights)}

    # -- shared pieces -------------------------------------------------------------
    def col_offset(self, T, S):
        if self.logq <= 0:
            return None
        off = self.log_supp[T]
        if S is not None:
            off = torch.cat([off, self.p["sample_alpha"] * self.log_supp[S]])
        return off * self.logq

    def mask(self, rows, cols, p_drop):
        if p_drop <= 0:
            return None
        keep = 1.0 - p_drop
        m = torch.rand(rows, cols, generator=self.gen, device=self.device, dtype=self.dtype) < keep
        return m.to(self.dtype).div_(keep)

    def cap_factor(self, dense_grads, row_grads):
        """Scale factor for the global gradient-norm cap (1.0 when under the cap)."""
        if self.grad_cap <= 0:
            return None
        sq = sum((g.double().pow(2).sum() for g in list(dense_grads) + list(row_grads)),
                 torch.zeros((), dtype=torch.float64, device=self.device))
        norm = sq.sqrt()
        return torch.where(norm >= self.grad_cap, self.grad_cap / norm,
                           torch.ones_like(norm)).to(self.dtype)

    def update_dense(self, grads):
        for k, g in grads.items():
            dense_update_(self.w[k], g, self.dense_states[k], self.adapt, self.lr, self.momentum,
                          self.lmbd, 1e-6, self.adapt_params)

    def apply_updates(self, dense, rows, row_op):
        """Cap the global gradient norm (grad_cap), then update the dense parameters and,
        with row_op, the rows of the row-sparse ones (rows: (name, ids, row grads))."""
        f = self.cap_factor(dense.values(), [r for _, _, r in rows])
        if f is not None:
            dense = {k: g * f for k, g in dense.items()}
            rows = [(k, i, r * f) for k, i, r in rows]
        self.update_dense(dense)
        self.update_rows(row_op, rows)

    def update_rows(self, op, updates):
        for k, ids, rows in updates:
            op(self.w[k], ids, rows, self.sparse_states[k], self.lr, momentum=self.momentum,
               lmbd=self.lmbd, eps=1e-6, adapt_params=list(self.adapt_params))


class FusedStep(_StepBase):
    """One training step from the fused kernels, without autograd."""

    def __init__(self, model, weights, supports, generator):
        super().__init__(model, weights, supports, generator)
        from gru4rec_fast.ops.gru_step import gru_step_fwd, gru_step_bwd
        from gru4rec_fast.ops import (sampled_scores, sampled_scores_backward,
                                      fused_loss_fwd_bwd, sparse_row_update_)
        self._fwd, self._bwd = gru_step_fwd, gru_step_bwd
        self._scores, self._scores_bwd = sampled_scores, sampled_scores_backward
        self._loss, self._update = fused_loss_fwd_bwd, sparse_row_update_

    @torch.no_grad()
    def __call__(self, X, T, reset, S, H):
        w, p, mode = self.w, self.p, self.mode
        B = X.shape[0]
        Y = T if S is None else torch.cat([T, S])
        x = None
        m_embed = None
        if mode == "shared":
            x = w["Wy"].index_select(0, X)
        elif mode == "separate":
            x = w["E"].index_select(0, X)
        if x is not None:
            m_embed = self.mask(B, x.shape[1], p["dropout_p_embed"])
            if m_embed is not None:
                x = x * m_embed
        ins, saves, masks, outs = [], [], [], []
        for l in range(self.n_layers):
            d = p["layers"][l]
            if l == 0 and mode == "none":
                vx = w["Wx0"].index_select(0, X).add_(w["b.0"])
            else:
                vx = torch.addmm(w[f"b.{l}"], x, w[f"Wx.{l}"])
            mh = self.mask(B, d, p["dropout_p_hidden"])
            out, saved = self._fwd(vx, H[l], w[f"Wrz.{l}"], w[f"Wh.{l}"], reset, mh, self.hidden_act)
            ins.append(x)
            saves.append(saved)
            masks.append(mh)
            outs.append(out)
            x = out
        scores = self._scores(x, w["Wy"], w["By"], Y)
        loss, dS = self._loss(scores, self.loss, self.final_act, self.col_offset(T, S),
                              p["bpreg"], p["smoothing"], self.scale)
        dx, dWy_rows, dBy_rows = self._scores_bwd(dS, x, w["Wy"], Y)
        dense, rows = {}, []
        for l in reversed(range(self.n_layers)):
            dvx, _dh, dWrz, dWh = self._bwd(dx, saves[l], w[f"Wrz.{l}"], w[f"Wh.{l}"], reset,
                                            masks[l], self.hidden_act)
            dense[f"Wrz.{l}"], dense[f"Wh.{l}"] = dWrz, dWh
            dense[f"b.{l}"] = dvx.sum(0)
            if l == 0 and mode == "none":
                rows.append(("Wx0", X, dvx))
                dx = None
            else:
                dense[f"Wx.{l}"] = ins[l].t().mm(dvx)
                dx = dvx.mm(w[f"Wx.{l}"].t()) if (l > 0 or mode != "none") else None
        if dx is not None and m_embed is not None:
            dx = dx * m_embed
        if mode == "shared":
            rows.append(("Wy", torch.cat([X, Y]), torch.cat([dx, dWy_rows])))
        else:
            rows.append(("Wy", Y, dWy_rows))
            if mode == "separate":
                rows.append(("E", X, dx))
        rows.append(("By", Y, dBy_rows))
        self.apply_updates(dense, rows, self._update)
        return loss, outs


class ReferenceStep(_StepBase):
    """One training step in plain PyTorch with autograd (the reference ops)."""

    def __init__(self, model, weights, supports, generator):
        super().__init__(model, weights, supports, generator)
        from gru4rec_fast.ops import reference
        self.ref = reference
        self.dense_keys = network.dense_names(weights)

    def __call__(self, X, T, reset, S, H):
        w, p, mode, ref = self.w, self.p, self.mode, self.ref
        B = X.shape[0]
        Y = T if S is None else torch.cat([T, S])
        N = Y.shape[0]
        dense = {k: w[k].detach().requires_grad_() for k in self.dense_keys}
        leaves = []                     # (name, ids, leaf rows)
        x = None
        if mode == "shared":
            ids = torch.cat([X, Y])
            sub = w["Wy"][ids].requires_grad_()
            leaves.append(("Wy", ids, sub))
            x, WyY = sub[:B], sub[B:]
        else:
            WyY = w["Wy"][Y].requires_grad_()
            leaves.append(("Wy", Y, WyY))
            if mode == "separate":
                x = w["E"][X].requires_grad_()
                leaves.append(("E", X, x))
        ByY = w["By"][Y].requires_grad_()
        leaves.append(("By", Y, ByY))
        if x is not None:
            m_embed = self.mask(B, x.shape[1], p["dropout_p_embed"])
            if m_embed is not None:
                x = x * m_embed
        outs = []
        for l in range(self.n_layers):
            if l == 0 and mode == "none":
                wx0 = w["Wx0"][X].requires_grad_()
                leaves.append(("Wx0", X, wx0))
                vx = wx0 + dense["b.0"]
            else:
                vx = x @ dense[f"Wx.{l}"] + dense[f"b.{l}"]
            mh = self.mask(B, p["layers"][l], p["dropout_p_hidden"])
            x = ref.gru_step(vx, H[l], dense[f"Wrz.{l}"], dense[f"Wh.{l}"], reset, mh,
                             self.hidden_act.name)
            outs.append(x)
        scores = ref.sampled_scores(x, WyY, ByY, torch.arange(N, device=self.device))
        loss = ref.fused_loss(scores, self.loss, self.final_act.name, self.col_offset(T, S),
                              p["bpreg"], p["smoothing"], self.scale)
        loss.backward()
        with torch.no_grad():
            dg = {k: t.grad if t.grad is not None else torch.zeros_like(t) for k, t in dense.items()}
            rows = [(k, ids, leaf.grad) for k, ids, leaf in leaves]
            self.apply_updates(dg, rows, ref.sparse_row_update_)
        return loss.detach(), [o.detach() for o in outs]


BACKENDS = {"fused": FusedStep, "reference": ReferenceStep}


def make_step(backend, model, weights, supports, generator):
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    return BACKENDS[backend](model, weights, supports, generator)


def isfinite(x):
    return math.isfinite(float(x))
