"""The two training backends (docs/algorithm.md): the C++ loop and the plain-PyTorch reference.

A backend trains on an epoch laid out by ``training.EpochTensors`` (the epoch's schedule as
tensors on the training device) with ``run(epoch, t0, t1, samples, H)``: it runs steps
[t0, t1), with ``samples`` the (t1 - t0) x n_sample extra negatives of those steps (or
None) and H the hidden states (one tensor per layer), and returns (per-step losses as a
float64 tensor on the device, the hidden states after step t1 - 1). A single step on
explicit inputs is ``step(X, T, reset, S, H)`` -> (0-dim loss, new hidden states). The
hidden state carried on is the dropped-out output of each layer, detached: there is no
back-propagation across steps.

``FusedStep`` is the C++ loop of csrc/train_loop.cpp: fused kernels, the backward
chained by hand without autograd, the row-sparse update that sums duplicate ids and
touches only used rows, and no Python between steps.

``ReferenceStep`` is the straightforward PyTorch way (the way the authors' PyTorch port
works), one Python call per step: the rows of the item tables used in the step are
gathered into small leaf tensors, the forward is built from the plain-PyTorch ops of
``gru4rec_fast.ops.reference``, autograd gives the gradients, and the rows are updated
with the reference row-sparse update.

Gradients of the item tables are per occurrence (one row per use, as the gradient with
respect to the gathered sub-tensor in the reference code); ``grad_cap`` caps the global
norm over all of these and the dense gradients.

Both keep the optimiser state in the layout of ``gru4rec_fast.model.optim_state`` and
update it in place: pass the model's state as ``optim_state`` to continue from it (warm
start, resume), or None for a fresh zero state (``step_fn.optim_state``).
"""
import torch

from gru4rec_fast.ops import enums
from gru4rec_fast.model import huge_pages, network, optim_state as OS, params as P
from gru4rec_fast.model.optim import dense_update_
from gru4rec_fast.ops.enums import resolve_adapt_params


class _StepBase:
    def __init__(self, model, weights, supports, generator, optim_state=None):
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
        self.lr = P.effective_learning_rate(p)          # 1.0 for adadelta
        self.momentum, self.lmbd = p["momentum"], p["lmbd"]
        self.grad_cap = p["grad_cap"]
        if optim_state is None:
            optim_state = OS.new_state(weights, self.adapt, self.momentum)
        else:
            OS.check_state(optim_state, weights, self.adapt, self.momentum, "training")
        self.optim_state = optim_state
        dev, dt = weights["Wy"].device, weights["Wy"].dtype
        self.device, self.dtype = dev, dt
        # logQ correction (training only): log(supp) per item, ready to gather (an item
        # table, so on huge pages like the others: model/huge_pages.py).
        self.logq = p["logq"]
        if self.logq > 0:
            self.log_supp = huge_pages.item_table(
                torch.log(torch.as_tensor(supports, dtype=torch.float64).clamp_min(1e-30)), dev, dt)

    def step(self, X, T, reset, S, H):
        raise NotImplementedError

    def run(self, epoch, t0, t1, samples, H):
        """Steps [t0, t1) of the epoch, one ``step`` call each (see the module doc)."""
        losses = torch.empty(t1 - t0, dtype=torch.float64, device=self.device)
        offs, shrink = epoch.offsets, epoch.shrink
        for t in range(t0, t1):
            a, b = int(offs[t]), int(offs[t + 1])
            if shrink[t]:
                keep = epoch.prev[a:b]
                H = [h.index_select(0, keep) for h in H]
            S = None if samples is None else samples[t - t0]
            loss, H = self.step(epoch.ins[a:b], epoch.outs[a:b], epoch.resets[a:b], S, H)
            losses[t - t0] = loss
        return losses, H


class FusedStep(_StepBase):
    """The training step of the C++ loop (csrc/train_loop.cpp): fused kernels, the
    backward chained by hand without autograd, every update in place. ``run`` executes
    many steps per call with no Python between them."""

    def __init__(self, model, weights, supports, generator, optim_state=None):
        super().__init__(model, weights, supports, generator, optim_state)
        from gru4rec_fast import _ext
        C = _ext.ext()
        p = self.p
        c = C.TrainConfig()
        c.mode = enums.EMBEDDING_MODES[self.mode]
        c.n_layers = self.n_layers
        c.hidden_act, c.hidden_a, c.hidden_b = self.hidden_act.code, self.hidden_act.a, self.hidden_act.b
        c.loss = enums.parse_loss(self.loss)
        c.final_act, c.final_a, c.final_b = self.final_act.code, self.final_act.a, self.final_act.b
        c.bpreg, c.smoothing, c.scale = float(p["bpreg"]), float(p["smoothing"]), self.scale
        c.logq, c.sample_alpha = float(self.logq), float(p["sample_alpha"])
        c.dropout_embed, c.dropout_hidden = float(p["dropout_p_embed"]), float(p["dropout_p_hidden"])
        c.optimizer = enums.parse_optimizer(self.adapt)
        c.lr, c.momentum, c.lmbd, c.eps = float(self.lr), float(self.momentum), float(self.lmbd), 1e-6
        c.p1, c.p2 = self.adapt_params
        c.grad_cap = float(self.grad_cap)
        # Every weight's optimiser state in the 2-D shape the row kernel updates: item
        # tables row by row (By as n x 1), dense weights as one matrix (b.l as 1 x 3d).
        states = OS.as_train_loop_states(self.optim_state, weights)
        log_supp = self.log_supp if self.logq > 0 else torch.empty(0, dtype=self.dtype, device=self.device)
        self.loop = C.TrainLoop(dict(weights), states, log_supp, c, generator)

    def step(self, X, T, reset, S, H):
        S = torch.empty(0, dtype=torch.long, device=self.device) if S is None else S
        return self.loop.step(X, T, reset, S, list(H))

    def run(self, epoch, t0, t1, samples, H):
        if samples is None:
            samples = torch.empty(0, dtype=torch.long, device=self.device)
        return self.loop.run(epoch.ins, epoch.outs, epoch.resets, epoch.prev, epoch.offsets,
                             epoch.shrink, samples, t0, t1, list(H))


class ReferenceStep(_StepBase):
    """One training step in plain PyTorch with autograd (the reference ops)."""

    def __init__(self, model, weights, supports, generator, optim_state=None):
        super().__init__(model, weights, supports, generator, optim_state)
        from gru4rec_fast.ops import reference
        self.ref = reference
        self.dense_keys = network.dense_names(weights)
        self.sparse_states = {k: OS.sparse_row_state(self.optim_state[k], weights[k], self.adapt,
                                                     self.momentum)
                              for k in network.SPARSE_NAMES if k in weights}
        self.dense_states = {k: OS.dense_state(self.optim_state[k], weights[k], self.adapt, self.momentum)
                             for k in self.dense_keys}

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
            st = self.dense_states[k]
            dense_update_(self.w[k], g, st, self.adapt, self.lr, self.momentum,
                          self.lmbd, 1e-6, self.adapt_params)
            steps = self.optim_state[k]["steps"]
            if steps.numel():
                steps.fill_(st.t)       # the shared layout counts adam steps per row

    def apply_updates(self, dense, rows):
        """Cap the global gradient norm (grad_cap), then update the dense parameters and
        the rows of the row-sparse ones (rows: (name, ids, row grads))."""
        f = self.cap_factor(dense.values(), [r for _, _, r in rows])
        if f is not None:
            dense = {k: g * f for k, g in dense.items()}
            rows = [(k, i, r * f) for k, i, r in rows]
        self.update_dense(dense)
        for k, ids, r in rows:
            self.update_rows(k, ids, r)

    def update_rows(self, k, ids, r):
        """One row-sparse update of table k (a subclass may swap the rule, as
        benches/duplicates.py does for the original's per-occurrence one)."""
        self.ref.sparse_row_update_(self.w[k], ids, r, self.sparse_states[k], self.lr,
                                    momentum=self.momentum, lmbd=self.lmbd, eps=1e-6,
                                    adapt_params=list(self.adapt_params))

    def step(self, X, T, reset, S, H):
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
            self.apply_updates(dg, rows)
        return loss.detach(), [o.detach() for o in outs]


BACKENDS = {"fused": FusedStep, "reference": ReferenceStep}


def make_step(backend, model, weights, supports, generator, optim_state=None):
    """The training step of ``backend`` over ``weights`` (updated in place), continuing
    from ``optim_state`` (gru4rec_fast.model.optim_state layout) or from zero state."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    return BACKENDS[backend](model, weights, supports, generator, optim_state)
