"""Saving and loading trained models without pickle of arbitrary objects.

The file is a ``torch.save`` of a dict of plain values only (str, int, float, bool,
lists, dicts, tensors), so ``torch.load(..., weights_only=True)`` reads it:

    format           "gru4rec_fast"
    format_version   2
    hyperparameters  {name: value}           (JSON-able values)
    config           {"seed", "backend", "dtype"}
    item_ids_kind    "int" | "str"
    item_ids         int64 tensor (ints) or list of str (strings), in code order
    weights          {name: tensor}          (see gru4rec_fast.model.network)
    optimizer        {"adapt", "momentum", "state": {name: {"s1", "s2", "velocity",
                     "steps"}}} (see gru4rec_fast.model.optim_state), or None
    training         {"rounds": fits so far (the first fit and each continued
                     training), "epochs": epochs trained over all of them}

Version 1 files (no ``optimizer`` and ``training``) still load: such a model serves and
evaluates as before; continued training starts its optimiser state from zero, as a
fresh fit does, and counts it as round 1 after n_epochs epochs.

Tensors are stored compactly (a view of a larger capacity buffer, see
gru4rec_fast.model.capacity, is copied out first, else torch.save would write the whole
buffer). Writes are atomic: a temporary file in the target folder, flushed to disk,
then os.replace; a reader sees the old file or the new one, never a part.
"""
import os

import numpy as np
import torch

from gru4rec_fast._atomic import atomic_write
from gru4rec_fast.data import ItemIndex
from gru4rec_fast.model import huge_pages, network, optim_state as OS

FORMAT = "gru4rec_fast"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


def _item_ids_payload(ids):
    ids = np.asarray(ids)
    if ids.dtype.kind in "iu":
        return "int", torch.from_numpy(ids.astype(np.int64))
    if ids.dtype.kind in "OUS":
        vals = ids.tolist()
        if all(isinstance(v, str) for v in vals):
            return "str", vals
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
            return "int", torch.tensor([int(v) for v in vals], dtype=torch.int64)
    raise ValueError(f"save: item ids of dtype {ids.dtype} cannot be stored; ids must be all "
                     "integers or all strings")


def _compact(t):
    """``t`` on the CPU, contiguous, owning no more storage than its own elements."""
    t = t.detach().cpu().contiguous()
    if t.untyped_storage().nbytes() != t.numel() * t.element_size():
        t = t.clone()
    return t


def model_payload(model):
    """The model as the plain dict described in the module doc."""
    kind, ids = _item_ids_payload(model.item_index.ids)
    opt = None
    if getattr(model, "optim_state", None) is not None:
        adapt, momentum = model.optim_for
        opt = {"adapt": adapt, "momentum": float(momentum),
               "state": {k: {s: _compact(t) for s, t in st.items()}
                         for k, st in model.optim_state.items()}}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hyperparameters": {k: (list(v) if isinstance(v, list) else v) for k, v in model.hyper.items()},
        "config": {"seed": int(model.seed), "backend": model.backend,
                   "dtype": str(model.dtype).replace("torch.", "")},
        "item_ids_kind": kind,
        "item_ids": ids,
        "weights": {k: _compact(v) for k, v in model.weights.items()},
        "optimizer": opt,
        "training": {"rounds": int(model.train_rounds), "epochs": int(model.epochs_trained)},
    }


def atomic_save(payload, path, what="save"):
    """torch.save ``payload`` to ``path`` atomically (see the module doc)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{what}: folder {folder} does not exist")
    atomic_write(path, lambda tmp: torch.save(payload, tmp), fsync=True)


def save_model(model, path):
    atomic_save(model_payload(model), path)


def read_payload(path, fmt=FORMAT, versions=READABLE_VERSIONS, what="load",
                 kind="gru4rec_fast model file"):
    """The dict of a file written by ``atomic_save``, checked for format and version."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: no such file: {path}")
    try:
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - report what the file is not
        raise ValueError(f"{what}: {path} is not a {kind} ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise ValueError(f"{what}: {path} is not a {kind}")
    ver = d.get("format_version")
    if ver not in versions:
        raise ValueError(f"{what}: {path} has format version {ver}; this gru4rec_fast reads "
                         f"version{'s' if len(versions) > 1 else ''} "
                         f"{', '.join(str(v) for v in versions)}")
    return d


def restore_state(model, d, path, what="load"):
    """Put the item index, weights, optimiser state and training counters of payload
    ``d`` into ``model`` (whose hyperparameters, device and dtype are already set),
    checking every shape against the hyperparameters."""
    ids = d["item_ids"]
    ids = ids.numpy() if d["item_ids_kind"] == "int" else np.asarray(ids, dtype=object)
    item_index = ItemIndex(ids)
    shapes = network.expected_shapes(model.hyper, len(ids))
    w = d["weights"]
    if set(w) != set(shapes):
        raise ValueError(f"{what}: {path}: weights {sorted(w)} do not match the hyperparameters "
                         f"(expected {sorted(shapes)})")
    for k, s in shapes.items():
        if tuple(w[k].shape) != tuple(s):
            raise ValueError(f"{what}: {path}: weight {k} has shape {tuple(w[k].shape)}, expected {s}")
    to = dict(device=model.device, dtype=model.dtype)
    # the item tables and their state on huge pages, as fit makes them
    weights = {k: huge_pages.place(k, w[k], **to) for k in shapes}
    opt = d.get("optimizer") if d["format_version"] >= 2 else None
    state, optim_for = None, None
    if opt is not None:
        optim_for = (opt["adapt"], float(opt["momentum"]))
        st = opt["state"]
        try:
            OS.check_state(st, weights, *optim_for, what=f"{what}: {path}")
        except (KeyError, TypeError) as e:
            raise ValueError(f"{what}: {path}: malformed optimiser state ({e})") from None
        state = {k: {s: huge_pages.place(k, t, **to) for s, t in st[k].items()} for k in weights}
    if d["format_version"] >= 2:
        training = d["training"]
        rounds, epochs = int(training["rounds"]), int(training["epochs"])
    else:               # a version-1 model was trained once, for n_epochs
        rounds, epochs = 1, int(model.hyper["n_epochs"])
    model._install(item_index, weights, state, optim_for, rounds, epochs)
    return model


def load_model(cls, path, device="cpu", backend=None):
    d = read_payload(path)
    cfg = d["config"]
    model = cls(device=device, seed=cfg["seed"], backend=backend or cfg["backend"],
                dtype=cfg["dtype"])
    model.set_params(**d["hyperparameters"])
    return restore_state(model, d, os.fspath(path))
