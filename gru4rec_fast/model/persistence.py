"""Saving and loading trained models without pickle of arbitrary objects.

The file is a ``torch.save`` of a dict of plain values only (str, int, float, bool,
lists, dicts, tensors), so ``torch.load(..., weights_only=True)`` reads it:

    format           "gru4rec_fast"
    format_version   1
    hyperparameters  {name: value}           (JSON-able values)
    config           {"seed", "backend", "dtype"}
    item_ids_kind    "int" | "str"
    item_ids         int64 tensor (ints) or list of str (strings), in code order
    weights          {name: tensor}          (see gru4rec_fast.model.network)

Writes are atomic: a temporary file in the target folder, then os.replace.
"""
import os
import tempfile

import numpy as np
import torch

from gru4rec_fast.data import ItemIndex
from gru4rec_fast.model import network, params as P

FORMAT = "gru4rec_fast"
FORMAT_VERSION = 1


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


def save_model(model, path):
    path = os.fspath(path)
    kind, ids = _item_ids_payload(model.item_index.ids)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hyperparameters": {k: (list(v) if isinstance(v, list) else v) for k, v in model.hyper.items()},
        "config": {"seed": int(model.seed), "backend": model.backend,
                   "dtype": str(model.dtype).replace("torch.", "")},
        "item_ids_kind": kind,
        "item_ids": ids,
        "weights": {k: v.detach().cpu().contiguous() for k, v in model.weights.items()},
    }
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_model(cls, path, device="cpu", backend=None):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - report what the file is not
        raise ValueError(f"load: {path} is not a gru4rec_fast model file ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not a gru4rec_fast model file")
    ver = d.get("format_version")
    if ver != FORMAT_VERSION:
        raise ValueError(f"load: {path} has format version {ver}; this gru4rec_fast reads "
                         f"version {FORMAT_VERSION}")
    cfg = d["config"]
    model = cls(device=device, seed=cfg["seed"], backend=backend or cfg["backend"],
                dtype=cfg["dtype"])
    model.set_params(**d["hyperparameters"])
    ids = d["item_ids"]
    ids = ids.numpy() if d["item_ids_kind"] == "int" else np.asarray(ids, dtype=object)
    model.item_index = ItemIndex(ids)
    shapes = network.expected_shapes(model.hyper, len(ids))
    w = d["weights"]
    if set(w) != set(shapes):
        raise ValueError(f"load: {path}: weights {sorted(w)} do not match the hyperparameters "
                         f"(expected {sorted(shapes)})")
    for k, s in shapes.items():
        if tuple(w[k].shape) != tuple(s):
            raise ValueError(f"load: {path}: weight {k} has shape {tuple(w[k].shape)}, expected {s}")
    model.weights = {k: w[k].to(device=model.device, dtype=model.dtype).contiguous() for k in shapes}
    return model
