"""The GRU4Rec model: hyperparameters, training (fit), serving (recommend) and
persistence (save/load)."""
import math
import os
import time
import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd
import torch

from gru4rec_fast import cpu_threads
from gru4rec_fast.data import DataError, SampleStore, SessionDataset
from gru4rec_fast.data._progress import bar
from gru4rec_fast.model import checkpoint as CK, network, optim_state as OS, params as P
from gru4rec_fast.model.backends import BACKENDS, make_step
from gru4rec_fast.model.capacity import RowBuffers
from gru4rec_fast.model.forward import forward_step
from gru4rec_fast.model.forward import ops_module
from gru4rec_fast.model.prediction import candidate_codes, check_k
from gru4rec_fast.model.seeding import new_rows_rng, stream_seed
from gru4rec_fast.model.serving import SessionStateTable
from gru4rec_fast.ops.topk_scores import exclusion_csr
from gru4rec_fast.model.training import EpochTensors, run_epoch

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN (or infinite)."""


class GRU4Rec:
    """GRU4Rec (Hidasi et al. 2016; Hidasi & Karatzoglou 2018), see docs/algorithm.md.

    ``GRU4Rec(**hyperparameters, device="cpu", seed=42, backend="fused",
    dtype="float32")``: every hyperparameter of the original under its reference name
    and default (see ``gru4rec_fast.model.params.DEFAULTS``); values may be strings as
    in the reference's parameter string. ``elu_param=X`` (the authors' PyTorch port)
    sets final_act to elu-X (0: linear).

    ``seed`` drives the initialisation (numpy RandomState in the reference order: seed
    42 is the reference's compatibility mode), dropout, negative sampling and the
    session shuffle. ``backend``: "fused" (C++/CUDA kernels, default) or "reference"
    (plain PyTorch with autograd, slow; for checking).
    """

    def __init__(self, device="cpu", seed=42, backend="fused", dtype="float32", **hyperparameters):
        self.hyper = OrderedDict((k, P.convert(k, v)) for k, v in P.DEFAULTS.items())
        self.device = torch.device(device)
        self.seed = int(seed)
        self.set_backend(backend)
        if dtype not in _DTYPES and dtype not in _DTYPES.values():
            raise ValueError(f"invalid dtype {dtype!r}; valid: float32, float64")
        self.dtype = _DTYPES.get(dtype, dtype)
        self.weights = None
        self.item_index = None
        self.optim_state = None             # optimiser state (model/optim_state.py layout)
        self.optim_for = None               # (adapt, momentum) optim_state was made for
        self.train_rounds = 0               # fits so far: the first and each continued one
        self.epochs_trained = 0             # epochs over all of them
        self._rows = None                   # RowBuffers: item tables as growable views
        # serving state of recommend(), sized on first use (see _serving_table)
        self._sessions = SessionStateTable([], self.dtype, self.device, capacity=0)
        self.set_params(**hyperparameters)

    # -- hyperparameters ----------------------------------------------------------------
    def set_backend(self, backend):
        if backend not in BACKENDS:
            raise ValueError(f"invalid backend {backend!r}; valid: {', '.join(BACKENDS)}")
        self.backend = backend

    def set_params(self, *param_strings, **kwargs):
        """Set hyperparameters from keyword arguments and/or reference-style strings
        ("layers=100/100,loss=bpr-max"). Unknown names and bad values raise ValueError
        listing the valid ones. Returns self."""
        items = []
        for s in param_strings:
            items.extend(P.parse_param_string(s).items())
        items.extend(kwargs.items())
        new = OrderedDict(self.hyper)
        for k, v in items:
            if k == "elu_param":
                new["final_act"] = P.elu_param_to_final_act(v)
                continue
            new[k] = P.convert(k, v)
        if self.weights is not None:
            changed = [k for k in ("layers", "embedding", "constrained_embedding")
                       if new[k] != self.hyper[k]]
            if changed:
                raise ValueError(f"cannot change {', '.join(changed)} of a trained model "
                                 "(the weights' shapes depend on them)")
        self.hyper = new
        self.warnings = P.check_combination(self.hyper)
        return self

    def get_params(self):
        return OrderedDict(self.hyper)

    def __getattr__(self, name):
        # hyperparameters readable as attributes (model.loss, model.layers, ...)
        hyper = self.__dict__.get("hyper")
        if hyper is not None and name in hyper:
            return hyper[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __repr__(self):
        ps = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items() if v != P.DEFAULTS[k])
        return f"GRU4Rec({ps}{', ' if ps else ''}device={str(self.device)!r})"

    # -- data --------------------------------------------------------------------------
    def _as_dataset(self, data, session_key, item_key, time_key, item_index=None, time_sort=None,
                    grow_index=False):
        if grow_index:
            item_index = self.item_index
            if isinstance(data, SessionDataset):
                raise TypeError("fit(warm_start=True) needs the new events as a DataFrame or a file "
                                "path (their new items are added to the model's item index)")
        if isinstance(data, SessionDataset):
            if item_index is not None and data.item_index is not item_index:
                raise DataError("the SessionDataset was built with a different item index than "
                                "the model's; pass the events (DataFrame or path) instead")
            return data
        if not isinstance(data, (pd.DataFrame, str)) and not hasattr(data, "__fspath__"):
            raise TypeError("data must be a pandas DataFrame, a file path or a SessionDataset, "
                            f"got {type(data).__name__}")
        return SessionDataset.from_events(
            data, session_key=session_key, item_key=item_key, time_key=time_key,
            item_index=item_index, grow_index=grow_index,
            time_sort=self.hyper["time_sort"] if time_sort is None else time_sort)

    @property
    def n_items(self):
        return 0 if self.item_index is None else len(self.item_index)

    def _check_trained(self, what):
        if self.weights is None:
            raise RuntimeError(f"{what}: the model is not trained; call fit() or GRU4Rec.load() first")

    # -- training ----------------------------------------------------------------------
    def fit(self, data, sample_store_size=10_000_000, session_key="SessionId", item_key="ItemId",
            time_key="Time", progress=None, verbose=True, on_step=None, max_steps=None,
            warm_start=False, checkpoint_dir=None, resume=False, on_epoch_end=None):
        """Train on ``data`` (DataFrame, file path or SessionDataset). Returns self.

        Prints one line per epoch in the reference format and shows a tqdm bar when
        stderr is a TTY (``progress`` forces it). ``on_step(epoch, step, loss)`` is
        called after every step with the 0-dim loss tensor (for tests; it may sync).
        ``max_steps`` stops each epoch early (for tests). A NaN/inf loss raises
        TrainingDivergedError naming the epoch. ``on_epoch_end(epoch, avg_loss)`` is
        called after each epoch (epoch from 0, after its checkpoint; the model can be
        evaluated there): a true return value stops training after that epoch, an
        exception it raises leaves fit (hyperparameter search uses it to prune).

        ``warm_start=False``: a fresh initialisation. ``warm_start=True``: continue a
        trained (or loaded) model on the new events only, for n_epochs epochs: the
        weights and the optimiser state are kept, items not yet in the catalogue are
        appended to the item index (first-appearance order) with rows drawn as a fresh
        initialisation draws them (``network.init_item_rows``, seeded by
        ``seeding.new_rows_rng(seed, n_items_before)``) and zero optimiser state, and the
        negative samples (and logQ) follow the popularity of the new data only, so items
        absent from it are not sampled while alpha > 0. Growing the catalogue reallocates
        the item tables only when it outgrows their capacity, which then doubles
        (``model.capacity``).

        ``checkpoint_dir``: write DIR/checkpoint.pt atomically at the end of every epoch
        (``model.checkpoint``). ``resume=True`` (needs checkpoint_dir): continue from that
        checkpoint, after checking it was written for the same data, hyperparameters and
        settings (CheckpointMismatchError naming what differs otherwise); the result is
        the one of an uninterrupted run (bit-identical on CPU). With no checkpoint in DIR
        yet, training starts from the beginning (with a warning), so one command line
        serves both the first start and every restart.
        """
        p = self.hyper
        cpu_threads.apply_default()     # docs/threads.md, unless the user chose (once per process)
        if not isinstance(sample_store_size, (int, np.integer)) or sample_store_size < 0:
            raise ValueError(f"sample_store_size must be an integer >= 0, got {sample_store_size!r}")
        if resume and checkpoint_dir is None:
            raise ValueError("fit(resume=True) needs checkpoint_dir: the folder of the checkpoint "
                             "to continue from")
        ck_path = CK.checkpoint_path(checkpoint_dir) if checkpoint_dir is not None else None
        if warm_start:
            self._check_trained("fit(warm_start=True)")
            ds = self._as_dataset(data, session_key, item_key, time_key, grow_index=True)
            round_, epochs_before = self.train_rounds, self.epochs_trained
        else:
            ds = self._as_dataset(data, session_key, item_key, time_key)
            round_, epochs_before = 0, 0
        min_slots = 1 if p["n_sample"] > 0 else 2
        if ds.n_sessions < min_slots:
            raise DataError(f"too few sessions to train on ({ds.n_sessions})")

        ck = None
        if ck_path is not None:
            fingerprint = CK.data_fingerprint(ds)
            settings = {"seed": self.seed, "backend": self.backend,
                        "dtype": str(self.dtype).replace("torch.", ""),
                        "device": self.device.type, "sample_store_size": int(sample_store_size),
                        "max_steps": None if max_steps is None else int(max_steps),
                        "warm_start": bool(warm_start), "round": int(round_),
                        "epochs_before": int(epochs_before)}
            if resume:
                if os.path.isfile(ck_path):
                    ck = CK.read(ck_path)
                    CK.check_same_run(ck, ck_path, p, fingerprint, settings)
                else:
                    warnings.warn(f"fit(resume=True): no checkpoint in {checkpoint_dir} yet; "
                                  "training from the start", stacklevel=2)
            CK.checkpoint_path(checkpoint_dir, create=True)

        self._sessions.clear()
        start_epoch = 0
        self.epoch_losses_ = []
        if ck is not None:
            from gru4rec_fast.model.persistence import restore_state
            restore_state(self, ck["model"], ck_path, what="resume")
            start_epoch = int(ck["run"]["epoch"])
            self.epoch_losses_ = list(ck["run"]["epoch_losses"])
        elif warm_start:
            if self._rows is None:          # weights assigned by hand, not by fit/load
                self._install(self.item_index, self.weights, self.optim_state, self.optim_for,
                              self.train_rounds, self.epochs_trained)
            self._grow_catalogue(ds.item_index)
            if self.optim_state is None:
                warnings.warn("fit(warm_start=True): the model has no saved optimiser state (a "
                              "version-1 model file); it starts from zero", stacklevel=2)
                self._install(self.item_index, self.weights,
                              OS.new_state(self.weights, p["adapt"], p["momentum"]),
                              (p["adapt"], p["momentum"]), self.train_rounds, self.epochs_trained)
            elif self.optim_for != (p["adapt"], p["momentum"]):
                raise ValueError(
                    f"fit(warm_start=True): the model's optimiser state is for adapt={self.optim_for[0]}, "
                    f"momentum={self.optim_for[1]}, but the model now has adapt={p['adapt']}, "
                    f"momentum={p['momentum']}; set them back to continue training")
        else:
            weights = network.init_weights(p, ds.n_items, seed=self.seed, dtype=self.dtype,
                                           device=self.device)
            self._install(ds.item_index, weights, OS.new_state(weights, p["adapt"], p["momentum"]),
                          (p["adapt"], p["momentum"]), 0, 0)

        gen = torch.Generator(device=self.device)        # dropout masks
        gen.manual_seed(stream_seed(self.seed, "dropout", round_))
        step_fn = make_step(self.backend, self, self.weights, ds.supports, gen, self.optim_state)
        store = None
        if p["n_sample"] > 0:
            store = SampleStore(ds.supports, p["n_sample"], p["sample_alpha"], sample_store_size,
                                device=self.device, seed=stream_seed(self.seed, "sampling", round_))
        if ck is not None:
            gen.set_state(ck["rng"]["dropout"])
            if store is not None:
                store.load_state_dict(ck["rng"]["sampling"])
            if verbose:
                print(f"Resuming from {ck_path} after epoch {start_epoch}", flush=True)
        layers = p["layers"]
        for epoch in range(start_epoch, p["n_epochs"]):
            sched = ds.schedule(p["batch_size"], min_slots=min_slots,
                                shuffle=p["train_random_order"], seed=self.seed + epochs_before + epoch)
            n_steps = sched.n_steps if max_steps is None else min(sched.n_steps, int(max_steps))
            t0 = time.time()
            epoch_data = EpochTensors.from_schedule(sched, self.device)
            B0 = int(sched.n_live[0]) if n_steps else 0
            H = [torch.zeros(B0, d, dtype=self.dtype, device=self.device) for d in layers]
            it = bar(total=n_steps, progress=progress, desc=f"Epoch{epoch + 1}", unit="mb",
                     leave=False)

            def on_chunk(start, stop, losses, total, epoch=epoch, it=it):
                if on_step is not None:
                    for i in range(stop - start):
                        on_step(epoch, start + i, losses[i])
                self._check_loss(total, epoch, stop)
                it.update(stop - start)

            total, H = run_epoch(step_fn, epoch_data, n_steps, H, store, on_chunk=on_chunk)
            it.close()
            self._check_loss(total, epoch, n_steps)
            dt = time.time() - t0
            n_events = int(sched.step_offsets[n_steps])
            avg = float(total) / max(n_steps, 1)
            self.epoch_losses_.append(avg)
            if verbose:
                print(f"Epoch{epoch + 1} --> loss: {avg:.6f} ({dt:.2f}s) "
                      f"[{n_steps / max(dt, 1e-9):.2f} mb/s | {n_events / max(dt, 1e-9):.0f} e/s]",
                      flush=True)
            if ck_path is not None:
                CK.write(ck_path, self,
                         run={"epoch": epoch + 1, "epoch_losses": list(self.epoch_losses_),
                              "warm_start": bool(warm_start), "round": int(round_),
                              "epochs_before": int(epochs_before)},
                         rng={"dropout": gen.get_state(),
                              "sampling": None if store is None else store.state_dict()},
                         fingerprint=fingerprint, settings=settings)
            if on_epoch_end is not None and on_epoch_end(epoch, avg):
                break
        self.train_rounds = round_ + 1
        self.epochs_trained = epochs_before + len(self.epoch_losses_)
        return self

    def _install(self, item_index, weights, optim_state, optim_for, train_rounds, epochs_trained):
        """Make these the model's item index, weights and optimiser state, with the item
        tables (and their state) as views of growable buffers (model/capacity.py)."""
        n = len(item_index)
        rows = {}
        for k in network.SPARSE_NAMES:
            if k in weights:
                rows[("w", k)] = weights[k]
                if optim_state is not None:
                    for s in OS.KEYS:
                        rows[(s, k)] = optim_state[k][s]
        self._rows = RowBuffers(rows, n)
        self.item_index = item_index
        self.weights, self.optim_state, self.optim_for = weights, optim_state, optim_for
        self._take_row_views()
        self.train_rounds, self.epochs_trained = int(train_rounds), int(epochs_trained)

    def _take_row_views(self):
        for (s, k), v in self._rows.views().items():
            if s == "w":
                self.weights[k] = v
            else:
                self.optim_state[k][s] = v

    def _grow_catalogue(self, item_index):
        """Append the items of ``item_index`` past the current ones (see fit)."""
        n0, n1 = self.n_items, len(item_index)
        if n1 == n0:
            self.item_index = item_index
            return
        self._rows.grow(n1)
        self._take_row_views()
        rows = network.init_item_rows(self.hyper, n0, n1, new_rows_rng(self.seed, n0))
        for k, r in rows.items():
            if k in self.weights:
                self.weights[k][n0:].copy_(torch.from_numpy(r))
                if self.optim_state is not None:
                    for t in self.optim_state[k].values():
                        if t.numel():
                            t[n0:].zero_()
        self.item_index = item_index

    def _check_loss(self, total, epoch, step):
        v = float(total)
        if not math.isfinite(v):
            raise TrainingDivergedError(
                f"training diverged: the loss became {'NaN' if v != v else 'infinite'} in epoch "
                f"{epoch + 1} (by step {step}); try a lower learning_rate, grad_cap > 0 or another "
                f"final_act/loss pair (params: loss={self.hyper['loss']}, "
                f"final_act={self.hyper['final_act']}, learning_rate={self.hyper['learning_rate']})")

    # -- scoring -------------------------------------------------------------------------
    def _codes(self, ids, what):
        codes = np.asarray(self.item_index.map_items(np.asarray(ids)), dtype=np.int64)
        if (codes < 0).any():
            bad = np.asarray(ids)[codes < 0][:5].tolist()
            raise ValueError(f"{what}: {int((codes < 0).sum())} item id(s) unknown to the model "
                             f"(e.g. {bad}); only items of the training data can be used")
        return codes

    def _serving_table(self):
        """The serving state table, rebuilt (empty) if the layers, dtype or device no
        longer match the model's (set_params before training, load)."""
        t = self._sessions
        if t.layers != list(self.hyper["layers"]) or t.dtype != self.dtype or t.device != self.device:
            t = self._sessions = SessionStateTable(self.hyper["layers"], self.dtype, self.device)
        return t

    @torch.no_grad()
    def recommend(self, session_ids, item_ids, k=20, candidates=None, exclude_seen=False):
        """Feed one event per session and return each session's top-k next items.

        ``session_ids`` and ``item_ids`` are equal-length sequences (one event each; a
        session id seen before continues that session's hidden state, a new one starts
        from zero; ``forget`` drops states). All sessions of a call run as one batched
        network step; their hidden states stay on the model's device in a slot table
        (``gru4rec_fast.model.serving``). ``candidates``: optional item ids to rank
        among (default all items; duplicates count once). ``exclude_seen``: leave out
        the items fed to the session so far (this call's included).

        Returns ``(ids, scores)``, both NumPy arrays of shape (len(session_ids), k'),
        k' = min(k, number of candidate items), best first: ``ids`` the original item
        ids in their original type, ``scores`` float (the model's dtype) after the
        final activation. Items are ranked by the raw logit (every final activation is
        monotone in it; for softmax_logit, the negative log-softmax, the best items
        therefore have the lowest score), ties to the lower item code. Where
        ``exclude_seen`` leaves a row fewer than k' items, its trailing entries are id
        None (``ids`` is then an object array) and score NaN.
        """
        self._check_trained("recommend")
        sids = list(session_ids) if not isinstance(session_ids, (str, bytes)) else [session_ids]
        iids = list(item_ids) if not isinstance(item_ids, (str, bytes)) else [item_ids]
        if len(sids) != len(iids):
            raise ValueError(f"recommend: {len(sids)} session ids but {len(iids)} item ids; "
                             "give one item per session")
        if len(sids) == 0:
            raise ValueError("recommend: no sessions given")
        if len(set(sids)) != len(sids):
            raise ValueError("recommend: a session id appears more than once in one call; "
                             "feed a session's events in successive calls")
        k = check_k(k, "recommend")
        codes = self._codes(iids, "recommend")
        cand = candidate_codes(self, candidates, "recommend")
        table = self._serving_table()
        X = torch.from_numpy(codes).to(self.device)
        slots, new = table.acquire(sids)
        outs = forward_step(self.weights, self.hyper, X, table.gather(slots), reset=new,
                            backend=self.backend)
        table.store(slots, outs)
        table.add_seen(sids, codes)
        excl = (None, None)
        if exclude_seen:
            excl = exclusion_csr([table.seen[s] for s in sids], self.device)
        n_cols = self.n_items if cand is None else int(cand.numel())
        w = self.weights
        scores, top = ops_module(self.backend).topk_scores(
            outs[-1], w["Wy"], w["By"], min(k, n_cols), candidates=cand,
            exclude_offsets=excl[0], exclude_ids=excl[1], final_act=self.hyper["final_act"])
        top, scores = top.cpu().numpy(), scores.cpu().numpy()
        missing = top < 0
        ids = self.item_index.ids[np.where(missing, 0, top)]
        if missing.any():
            ids = ids.astype(object)
            ids[missing] = None
        return ids, scores

    def forget(self, session_ids=None):
        """Drop the serving state of the given sessions (all when None); their slots
        are reused by later sessions."""
        if session_ids is None:
            self._sessions.clear()
            return
        if isinstance(session_ids, (str, bytes)) or not hasattr(session_ids, "__iter__"):
            session_ids = [session_ids]
        self._sessions.forget(session_ids)

    # -- persistence ---------------------------------------------------------------------
    def save(self, path):
        from gru4rec_fast.model.persistence import save_model
        self._check_trained("save")
        save_model(self, path)

    @classmethod
    def load(cls, path, device="cpu", backend=None):
        from gru4rec_fast.model.persistence import load_model
        return load_model(cls, path, device=device, backend=backend)

    # -- prediction and embeddings out ----------------------------------------------------
    def predict_next(self, events, k=20, candidates=None, exclude_seen=False, every_event=False,
                     session_key="SessionId", item_key="ItemId", time_key="Time", batch_size=512,
                     progress=None):
        """Top-k next items of every session of ``events`` (DataFrame or file path).

        Returns a DataFrame with columns ``[session_key, "Rank", item_key, "Score"]``:
        after each session's last event, its k best items (Rank 1..k, best first),
        sessions in order of first appearance in ``events``, a session's events taken
        in time order. ``every_event=True`` predicts after every event instead and adds
        a ``"Position"`` column after the session column: the 0-based position (in time
        order, among the session's known events) of the event the prediction follows. Scores and order are those of
        ``recommend`` fed the same events one by one (final activation applied, ranked
        by the raw logit, ties to the lower item code).

        ``candidates``: item ids to rank among (default all; unknown ids raise
        ValueError). ``exclude_seen``: leave out the session's items so far (a row may
        then have fewer than k items). k larger than the number of candidate items is
        clamped to it. Events of items unknown to the model are skipped with a warning
        that counts them (a session left with no events gets no rows); none known:
        DataError. Sessions run ``batch_size`` at a time in parallel slots.
        """
        from gru4rec_fast.model.prediction import predict_next
        return predict_next(self, events, k=k, candidates=candidates, exclude_seen=exclude_seen,
                            every_event=every_event, session_key=session_key, item_key=item_key,
                            time_key=time_key, batch_size=batch_size, progress=progress)

    def item_embeddings(self):
        """The item vectors as an ``ItemEmbeddings`` (ids, output Wy, bias By, input E
        where separate; see gru4rec_fast.model.embeddings)."""
        from gru4rec_fast.model.embeddings import item_embeddings
        return item_embeddings(self)

    def session_embeddings(self, events, session_key="SessionId", item_key="ItemId",
                           time_key="Time", batch_size=512, progress=None):
        """Final hidden state of every session of ``events`` as a ``SessionEmbeddings``
        (session ids in first-appearance order, hidden [m, d_last])."""
        from gru4rec_fast.model.embeddings import session_embeddings
        return session_embeddings(self, events, session_key=session_key, item_key=item_key,
                                  time_key=time_key, batch_size=batch_size, progress=progress)
