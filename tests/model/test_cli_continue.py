"""CLI: train --warm-start MODEL, --checkpoint DIR and --resume."""
import re

import pytest
import torch

from gru4rec_fast import GRU4Rec
from gru4rec_fast.cli import main
from gru4rec_fast.data import synthetic

PS = "loss=bpr-max,final_act=elu-0.5,layers=16,n_epochs=2,n_sample=32,constrained_embedding=True"


@pytest.fixture
def files(tmp_path):
    df = synthetic.generate(n_events=4000, n_items=200, seed=0, n_days=10)
    old, new = tmp_path / "old.tsv", tmp_path / "new.tsv"
    df.to_csv(old, sep="\t", index=False)
    df.assign(ItemId=df.ItemId + 100).to_csv(new, sep="\t", index=False)   # half new items
    return tmp_path, str(old), str(new)


def test_warm_start_and_checkpoint_resume(files, capsys):
    d, old, new = files
    m1, m2, ck = str(d / "m1.pt"), str(d / "m2.pt"), str(d / "ck")
    assert main([old, "-ps", PS, "-s", m1, "-ss", "20000", "-d", "cpu", "--checkpoint", ck]) == 0
    assert torch.load(d / "ck" / "checkpoint.pt", weights_only=True)["run"]["epoch"] == 2
    capsys.readouterr()
    assert main(["train", new, "--warm-start", m1, "-ps", "n_epochs=1", "-s", m2, "-ss", "20000",
                 "-d", "cpu"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Epoch1 --> loss", out, re.M) and "Epoch2" not in out
    a, b = GRU4Rec.load(m1), GRU4Rec.load(m2)
    assert f"(100 new items, {a.n_items + 100} in all)" in out, out
    assert b.n_items == a.n_items + 100 and b.train_rounds == 2 and b.epochs_trained == 3
    # --resume of a finished run: restores its last checkpoint, trains no more epochs
    assert main([old, "-ps", PS, "-s", str(d / "m3.pt"), "-ss", "20000", "-d", "cpu",
                 "--checkpoint", ck, "--resume"]) == 0
    assert "Resuming from" in capsys.readouterr().out
    c = GRU4Rec.load(d / "m3.pt")
    for k in a.weights:
        assert torch.equal(a.weights[k], c.weights[k])
    # resuming with other hyperparameters: one line, exit 2
    assert main([old, "-ps", PS + ",learning_rate=0.2", "-ss", "20000", "-d", "cpu",
                 "--checkpoint", ck, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate=0.1 in the checkpoint, 0.2 now" in err and len(err.strip().splitlines()) == 1


def test_cli_bad_input(files, capsys):
    d, old, new = files
    assert main([old, "-ps", PS, "--resume"]) == 2
    assert "--resume needs --checkpoint DIR" in capsys.readouterr().err
    (d / "file").write_text("x")
    assert main([old, "-ps", PS, "--checkpoint", str(d / "file")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main([new, "--warm-start", str(d / "missing.pt")]) == 2
    assert "--warm-start" in capsys.readouterr().err
    (d / "junk.pt").write_bytes(b"junk")
    assert main([new, "--warm-start", str(d / "junk.pt")]) == 2
    assert "not a gru4rec_fast model file" in capsys.readouterr().err
    assert main([old, "-l", "--warm-start", str(d / "junk.pt")]) == 2
    assert "cannot be combined" in capsys.readouterr().err
