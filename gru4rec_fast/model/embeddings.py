"""Embeddings out of a trained model, for users' own vector indexes.

``item_embeddings(model)`` returns the output layer: the score of item j for a session
with final hidden state h is ``h . output[j] + bias[j]`` (then the final activation,
which is monotone in it), so an exact inner-product top-k over ``output`` with the bias
added reproduces ``recommend``'s ranking (ties aside). ``session_embeddings(model,
events)`` returns those h, one per session, after its last event.
"""
from typing import NamedTuple, Optional

import numpy as np
import pandas as pd
import torch

from gru4rec_fast.model import network
from gru4rec_fast.model.prediction import (check_batch_size, event_sessions, run_sessions)


class ItemEmbeddings(NamedTuple):
    """Item vectors of a model, row j belonging to ``ids[j]`` (CPU tensors).

    ids:    [n] original item ids (numpy, their original type), in the model's code order
    output: float [n, d_last] output-layer item vectors (Wy)
    bias:   float [n] output-layer item biases (By)
    input:  float [n, k] the input embedding where it is a separate table (E, embedding
            mode "separate"); None in mode "shared" (the input embedding *is* ``output``)
            and in mode "none" (one-hot input, no embedding table)
    mode:   "shared", "separate" or "none" (see gru4rec_fast.model.network)
    """
    ids: np.ndarray
    output: torch.Tensor
    bias: torch.Tensor
    input: Optional[torch.Tensor]
    mode: str

    def to_frame(self, item_key="ItemId"):
        """One row per item: ``item_key``, ``bias``, ``out_0..out_{d-1}`` and, where a
        separate input embedding exists, ``in_0..in_{k-1}``."""
        cols = {item_key: self.ids, "bias": self.bias.numpy()}
        out = self.output.numpy()
        cols.update({f"out_{i}": out[:, i] for i in range(out.shape[1])})
        if self.input is not None:
            inp = self.input.numpy()
            cols.update({f"in_{i}": inp[:, i] for i in range(inp.shape[1])})
        return pd.DataFrame(cols)


class SessionEmbeddings(NamedTuple):
    """Final hidden states of sessions (CPU tensor), row i belonging to ``session_ids[i]``.

    session_ids: [m] original session ids, in order of first appearance in the input
    hidden:      float [m, d_last] the last GRU layer's output after the session's last
                 (known) event: the vector that is dotted with ``ItemEmbeddings.output``
    """
    session_ids: np.ndarray
    hidden: torch.Tensor

    def to_frame(self, session_key="SessionId"):
        """One row per session: ``session_key`` and ``h_0..h_{d-1}``."""
        h = self.hidden.numpy()
        cols = {session_key: self.session_ids}
        cols.update({f"h_{i}": h[:, i] for i in range(h.shape[1])})
        return pd.DataFrame(cols)


def item_embeddings(model):
    """The model's item vectors; see ``ItemEmbeddings``."""
    model._check_trained("item_embeddings")
    w = model.weights
    mode = network.embedding_mode(model.hyper)
    return ItemEmbeddings(ids=np.asarray(model.item_index.ids).copy(),
                          output=w["Wy"].detach().cpu().clone(),
                          bias=w["By"].detach().cpu().clone(),
                          input=w["E"].detach().cpu().clone() if mode == "separate" else None,
                          mode=mode)


@torch.no_grad()
def session_embeddings(model, events, session_key="SessionId", item_key="ItemId",
                       time_key="Time", batch_size=512, progress=None):
    """Final hidden state of every session in ``events``; see ``SessionEmbeddings``.
    Events of unknown items are skipped with a warning, as in ``predict_next``."""
    what = "session_embeddings"
    model._check_trained(what)
    batch_size = check_batch_size(batch_size, what)
    sessions = event_sessions(model, events, session_key, item_key, time_key, what)
    out = torch.empty(sessions.n_sessions, model.hyper["layers"][-1], dtype=model.dtype)

    def on_rows(h, sess_idx, pos):
        out[torch.from_numpy(sess_idx)] = h.cpu()

    run_sessions(model, sessions, batch_size, False, on_rows, progress=progress, desc=what)
    return SessionEmbeddings(sessions.session_ids, out)
