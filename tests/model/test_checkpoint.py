"""Checkpoints and resume: a training process killed with SIGKILL in epoch 3 resumes to
the weights of an uninterrupted run (bit-identical on CPU); checkpoints of another run,
data or hyperparameters are rejected naming what differs; the sample store's state."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.data import SampleStore, synthetic
from gru4rec_fast.model.checkpoint import CheckpointMismatchError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STORE = 3_000           # small blocks: the store regenerates inside epochs, so the
                        # checkpoint's block position matters
PARAMS = dict(layers=[24], batch_size=16, n_sample=64, n_epochs=4, loss="bpr-max",
              final_act="elu-0.5", constrained_embedding=True, momentum=0.1,
              dropout_p_hidden=0.2, dropout_p_embed=0.1, train_random_order=True, seed=7)


def _data():
    return synthetic.generate(n_events=6000, n_items=300, seed=3, n_days=10)


def _same_model(a, b):
    for k in a.weights:
        assert torch.equal(a.weights[k], b.weights[k]), k
    for k in a.optim_state:
        for s in a.optim_state[k]:
            assert torch.equal(a.optim_state[k][s], b.optim_state[k][s]), (k, s)
    assert list(a.item_index.ids) == list(b.item_index.ids)
    assert a.epoch_losses_ == b.epoch_losses_


# The training process of the kill test: trains with checkpoints; at the first step of
# epoch 3 (index 2) it writes a marker and sleeps, so the test kills it inside epoch 3
# after the epoch-2 checkpoint exists (the first chunk of epoch 3 has already changed
# its in-memory weights and random state, which resume must not depend on).
CHILD = """
import sys, time, pathlib, torch
torch.set_num_threads(1)
from gru4rec_fast import GRU4Rec
data, ck, marker = sys.argv[1:4]
params = {params!r}
def on_step(epoch, step, loss):
    if epoch == 2 and step == 0:
        pathlib.Path(marker).write_text("in epoch 3")
        time.sleep(600)
GRU4Rec(**params).fit(data, sample_store_size={store}, checkpoint_dir=ck, on_step=on_step,
                      verbose=False)
"""


def _wait_for(path, proc, timeout=120):
    t0 = time.time()
    while not os.path.exists(path):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"training process exited with {proc.returncode} before {path} appeared:\n{err}")
        if time.time() - t0 > timeout:
            proc.kill()
            pytest.fail(f"{path} did not appear within {timeout}s")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_in_epoch_3_then_resume_is_bit_identical(tmp_path):
    data = tmp_path / "train.tsv"
    _data().to_csv(data, sep="\t", index=False)
    ck, marker = tmp_path / "ck", tmp_path / "in_epoch_3"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(params=PARAMS, store=STORE),
                             str(data), str(ck), str(marker)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(marker, proc)
        raw = torch.load(ck / "checkpoint.pt", weights_only=True)
        assert raw["run"]["epoch"] == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert os.listdir(ck) == ["checkpoint.pt"]            # no temp file left behind
    resumed = GRU4Rec(**PARAMS).fit(str(data), sample_store_size=STORE, checkpoint_dir=ck,
                                    resume=True, verbose=False)
    full = GRU4Rec(**PARAMS).fit(str(data), sample_store_size=STORE, verbose=False)
    assert len(full.epoch_losses_) == 4
    _same_model(resumed, full)
    assert torch.load(ck / "checkpoint.pt", weights_only=True)["run"]["epoch"] == 4


def _interrupted(data, ck, params=PARAMS, stop_epoch=2, stop_step=40, **fit_kw):
    """A fit that raises inside epoch ``stop_epoch`` (0-based), after a chunk of it ran."""
    class Stop(Exception):
        pass

    def on_step(epoch, step, loss):
        if epoch == stop_epoch and step == stop_step:
            raise Stop

    with pytest.raises(Stop):
        GRU4Rec(**params).fit(data, sample_store_size=STORE, checkpoint_dir=ck, on_step=on_step,
                              verbose=False, **fit_kw)


def test_checkpoint_is_small_and_plain(tmp_path):
    data = _data()
    m = GRU4Rec(**dict(PARAMS, n_epochs=1)).fit(data, sample_store_size=10_000_000,
                                                checkpoint_dir=tmp_path, verbose=False)
    raw = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert raw["format"] == "gru4rec_fast.checkpoint" and raw["run"]["epoch"] == 1
    # the 10M-id sample block is redrawn on resume, not stored
    nbytes = os.path.getsize(tmp_path / "checkpoint.pt")
    state_bytes = sum(v.numel() * v.element_size() for v in m.weights.values()) * 3
    assert nbytes < state_bytes + 100_000, nbytes
    assert raw["rng"]["sampling"]["has_block"]


def test_resume_of_a_warm_start_run(tmp_path):
    data = _data()
    base = GRU4Rec(**dict(PARAMS, n_epochs=1)).fit(data, sample_store_size=STORE, verbose=False)
    base.save(tmp_path / "base.pt")
    new = _data().assign(ItemId=lambda d: d.ItemId + 150)      # half the items are new
    ck = tmp_path / "ck"

    def warm():
        m = GRU4Rec.load(tmp_path / "base.pt")
        m.set_params(n_epochs=4)
        return m

    class Stop(Exception):
        pass

    def on_step(epoch, step, loss):
        if epoch == 2 and step == 10:
            raise Stop

    with pytest.raises(Stop):
        warm().fit(new, warm_start=True, sample_store_size=STORE, checkpoint_dir=ck,
                   on_step=on_step, verbose=False)
    resumed = warm().fit(new, warm_start=True, sample_store_size=STORE, checkpoint_dir=ck,
                         resume=True, verbose=False)
    full = warm().fit(new, warm_start=True, sample_store_size=STORE, verbose=False)
    _same_model(resumed, full)
    assert resumed.train_rounds == full.train_rounds == 2
    # the checkpoint of the warm-start run is not one of a fresh run on the same data
    with pytest.raises(CheckpointMismatchError, match="different training data: .* 448 items"):
        GRU4Rec(**dict(PARAMS, n_epochs=4)).fit(new, sample_store_size=STORE, checkpoint_dir=ck,
                                                resume=True, verbose=False)


def test_resume_rejects_other_data_hyperparameters_and_settings(tmp_path):
    data = _data()
    _interrupted(data, tmp_path)
    with pytest.raises(CheckpointMismatchError,
                       match=r"different hyperparameters: learning_rate=0.1 in the checkpoint, 0.05 now"):
        GRU4Rec(**dict(PARAMS, learning_rate=0.05)).fit(data, sample_store_size=STORE,
                                                        checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointMismatchError, match=r"different hyperparameters: layers=\[24\]"):
        GRU4Rec(**dict(PARAMS, layers=[32])).fit(data, sample_store_size=STORE,
                                                 checkpoint_dir=tmp_path, resume=True)
    other = synthetic.generate(n_events=6000, n_items=300, seed=4, n_days=10)
    with pytest.raises(CheckpointMismatchError, match="different training data: 6000 events"):
        GRU4Rec(**PARAMS).fit(other, sample_store_size=STORE, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointMismatchError, match="seed=7 in the checkpoint, 8 now"):
        GRU4Rec(**dict(PARAMS, seed=8)).fit(data, sample_store_size=STORE, checkpoint_dir=tmp_path,
                                            resume=True)
    with pytest.raises(CheckpointMismatchError, match="sample_store_size=3000 in the checkpoint"):
        GRU4Rec(**PARAMS).fit(data, sample_store_size=STORE + 1, checkpoint_dir=tmp_path, resume=True)
    # and the checkpoint is still good for the right run
    resumed = GRU4Rec(**PARAMS).fit(data, sample_store_size=STORE, checkpoint_dir=tmp_path,
                                    resume=True, verbose=False)
    _same_model(resumed, GRU4Rec(**PARAMS).fit(data, sample_store_size=STORE, verbose=False))


def test_checkpoint_dir_and_resume_bad_input(tmp_path):
    data = _data()
    f = tmp_path / "a_file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        GRU4Rec(**PARAMS).fit(data, checkpoint_dir=f)
    with pytest.raises(ValueError, match="needs checkpoint_dir"):
        GRU4Rec(**PARAMS).fit(data, resume=True)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not a gru4rec_fast checkpoint"):
        GRU4Rec(**PARAMS).fit(data, checkpoint_dir=junk, resume=True)
    model_file = tmp_path / "m"
    model_file.mkdir()
    m = GRU4Rec(**dict(PARAMS, n_epochs=1)).fit(data, sample_store_size=STORE, verbose=False,
                                                max_steps=5)
    m.save(model_file / "checkpoint.pt")                 # a model file is not a checkpoint
    with pytest.raises(ValueError, match="is not a gru4rec_fast checkpoint"):
        GRU4Rec(**PARAMS).fit(data, checkpoint_dir=model_file, resume=True)


def test_resume_without_checkpoint_starts_from_the_beginning(tmp_path):
    data = _data()
    kw = dict(PARAMS, n_epochs=2)
    with pytest.warns(UserWarning, match="no checkpoint in .* yet; training from the start"):
        a = GRU4Rec(**kw).fit(data, sample_store_size=STORE, checkpoint_dir=tmp_path / "new",
                              resume=True, verbose=False)
    _same_model(a, GRU4Rec(**kw).fit(data, sample_store_size=STORE, verbose=False))
    assert (tmp_path / "new" / "checkpoint.pt").is_file()


@pytest.mark.parametrize("store_size", [0, 7 * 5, 10_000])
def test_sample_store_state_dict_continues_the_stream(store_size):
    ref = SampleStore([5, 1, 3, 0, 2], n_sample=5, alpha=0.75, store_size=store_size, seed=11)
    ref.take(3)
    ref.next()
    state = ref.state_dict()
    expect = [ref.take(4) for _ in range(5)]
    other = SampleStore([5, 1, 3, 0, 2], n_sample=5, alpha=0.75, store_size=store_size, seed=11)
    other.load_state_dict(state)
    got = [other.take(4) for _ in range(5)]
    assert all(torch.equal(a, b) for a, b in zip(expect, got))
    bad = SampleStore([5, 1, 3, 0, 2], n_sample=4, alpha=0.75, store_size=store_size, seed=11)
    with pytest.raises(ValueError, match="n_sample is 4 here but 5"):
        bad.load_state_dict(state)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["fused", "reference"])
def test_interrupted_in_process_resume_both_backends(tmp_path, backend):
    """An exception inside epoch 3 (after a chunk of it ran), then resume: the same
    weights, optimiser state (adam: per-row step counts too) and losses."""
    data = _data()
    kw = dict(PARAMS, backend=backend, adapt="adam", learning_rate=0.01)
    _interrupted(data, tmp_path, params=kw, stop_step=30, max_steps=60)
    resumed = GRU4Rec(**kw).fit(data, sample_store_size=STORE, checkpoint_dir=tmp_path, resume=True,
                                verbose=False, max_steps=60)
    _same_model(resumed, GRU4Rec(**kw).fit(data, sample_store_size=STORE, verbose=False, max_steps=60))
