"""Training checkpoints: written at the end of every epoch by ``GRU4Rec.fit(...,
checkpoint_dir=DIR)``, read by ``fit(..., resume=True)``.

``DIR/checkpoint.pt`` is one file, replaced atomically after each epoch (the last
complete epoch is always readable, even if the process is killed while writing). It is
a ``torch.save`` of plain values, readable with ``torch.load(weights_only=True)``:

    format           "gru4rec_fast.checkpoint"
    format_version   1
    model            the model file's payload (gru4rec_fast.model.persistence):
                     hyperparameters, item ids, weights, optimiser state
    run              {"epoch": epochs of this fit completed, "epoch_losses",
                     "warm_start", "round", "epochs_before"}
    rng              {"dropout": the dropout generator's state (uint8 tensor),
                     "sampling": the sample store's state_dict() or None}
    fingerprint      {"sha256", "n_events", "n_sessions", "n_items"} of the training data
    settings         everything else that decides the result: seed, backend, dtype,
                     device type, sample_store_size, max_steps

The session shuffle of an epoch is a function of the seed and the epoch number and the
hidden state starts at zero in every epoch, so nothing else is needed for the resumed
run to take exactly the steps the uninterrupted run takes.
"""
import hashlib
import os

import numpy as np

from gru4rec_fast.model import persistence

FORMAT = "gru4rec_fast.checkpoint"
FORMAT_VERSION = 1
FILE_NAME = "checkpoint.pt"


class CheckpointMismatchError(ValueError):
    """A checkpoint was written by a different run (data, hyperparameters or settings)."""


def data_fingerprint(ds):
    """{"sha256", "n_events", "n_sessions", "n_items"} of a SessionDataset: the hash covers
    the item codes in session order, the session boundaries and the item ids, i.e.
    everything training reads."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(ds.items, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(ds.offsets, dtype=np.int64).tobytes())
    ids = ds.item_index.ids
    if ids.dtype.kind in "iu":
        h.update(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    else:
        h.update("\x00".join(map(str, ids.tolist())).encode("utf-8", "surrogatepass"))
    return {"sha256": h.hexdigest(), "n_events": int(ds.n_events), "n_sessions": int(ds.n_sessions),
            "n_items": int(ds.n_items)}


def checkpoint_path(checkpoint_dir, create=False):
    """DIR/checkpoint.pt; DIR must be a folder (created when ``create``)."""
    d = os.fspath(checkpoint_dir)
    if os.path.exists(d) and not os.path.isdir(d):
        raise NotADirectoryError(f"checkpoint_dir {d} exists and is not a folder")
    if create:
        os.makedirs(d, exist_ok=True)
    return os.path.join(d, FILE_NAME)


def write(path, model, run, rng, fingerprint, settings):
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "model": persistence.model_payload(model), "run": run, "rng": rng,
               "fingerprint": fingerprint, "settings": settings}
    persistence.atomic_save(payload, path, what="checkpoint")


def read(path):
    return persistence.read_payload(path, fmt=FORMAT, versions=(FORMAT_VERSION,), what="resume",
                                    kind="gru4rec_fast checkpoint")


def _show(v):
    return repr(v) if not isinstance(v, float) else f"{v:g}"


def check_same_run(ck, path, hyper, fingerprint, settings):
    """Raise CheckpointMismatchError naming what differs between checkpoint ``ck`` and
    the run being resumed."""
    saved = ck["model"]["hyperparameters"]
    now = {k: (list(v) if isinstance(v, list) else v) for k, v in hyper.items()}
    diff = [f"{k}={_show(saved.get(k))} in the checkpoint, {_show(now.get(k))} now"
            for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if diff:
        raise CheckpointMismatchError(f"resume: {path} was written with different hyperparameters: "
                                      + "; ".join(diff))
    fp = ck["fingerprint"]
    if fp != fingerprint:
        raise CheckpointMismatchError(
            f"resume: {path} was written for different training data: {fp['n_events']} events, "
            f"{fp['n_sessions']} sessions, {fp['n_items']} items, sha256 {fp['sha256'][:12]} in the "
            f"checkpoint; {fingerprint['n_events']} events, {fingerprint['n_sessions']} sessions, "
            f"{fingerprint['n_items']} items, sha256 {fingerprint['sha256'][:12]} now")
    sdiff = [f"{k}={_show(ck['settings'].get(k))} in the checkpoint, {_show(v)} now"
             for k, v in settings.items() if ck["settings"].get(k) != v]
    if sdiff:
        raise CheckpointMismatchError(f"resume: {path} was written by a run with different settings: "
                                      + "; ".join(sdiff))
