"""The train command (reference run.py arguments and output) and the demo."""
import re

import pytest

from gru4rec_fast.cli import main
from model_helpers import tiny


@pytest.fixture
def files(tmp_path):
    train, test = tiny()
    tr, te = tmp_path / "train.tsv", tmp_path / "test.tsv"
    train.to_csv(tr, sep="\t", index=False)
    test.to_csv(te, sep="\t", index=False)
    return tmp_path, str(tr), str(te)


PS = "loss=bpr-max,final_act=elu-0.5,layers=16,n_epochs=1,n_sample=32,constrained_embedding=True"


@pytest.mark.slow
def test_train_save_test_load(files, capsys):
    d, tr, te = files
    model = str(d / "m.pt")
    assert main([tr, "-ps", PS, "-s", model, "-t", te, "-m", "1", "5", "20", "-d", "cpu",
                 "-lpm", "-ss", "50000"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Epoch1 --> loss: \d+\.\d{6} \(\d+\.\d\ds\) \[\d+\.\d\d mb/s \| \d+ e/s\]$",
                     out, re.M), out
    lines = re.findall(r"^Recall@(\d+): (\d\.\d{6}) MRR@\1: (\d\.\d{6})$", out, re.M)
    assert [c for c, _, _ in lines] == ["1", "5", "20"]
    prim = re.search(r"^PRIMARY METRIC: ([\d.]+)$", out, re.M)
    assert prim and abs(float(prim.group(1)) - float(lines[0][1])) < 1e-6
    # load the saved model and evaluate again: same numbers
    assert main(["train", model, "-l", "-t", te, "-m", "1", "5", "20", "-e", "conservative",
                 "-pm", "mrr", "-lpm"]) == 0
    out2 = capsys.readouterr().out
    lines2 = re.findall(r"^Recall@(\d+): (\d\.\d{6}) MRR@\1: (\d\.\d{6})$", out2, re.M)
    assert float(lines2[2][1]) <= float(lines[2][1])   # conservative <= standard
    assert "PRIMARY METRIC: " in out2


def test_parameter_file_and_keys(files, capsys, tmp_path):
    d, tr, te = files
    import pandas as pd
    df = pd.read_csv(tr, sep="\t").rename(columns={"SessionId": "sid", "ItemId": "iid", "Time": "ts"})
    tr2 = str(tmp_path / "train2.tsv")
    df.to_csv(tr2, sep="\t", index=False)
    pf = tmp_path / "p.py"
    pf.write_text("from collections import OrderedDict\ngru4rec_params = OrderedDict([('layers', [8]), "
                  "('n_epochs', 1), ('n_sample', 16), ('loss', 'top1-max')])\n")
    assert main([tr2, "-pf", str(pf), "-sk", "sid", "-ik", "iid", "-tk", "ts", "-ss", "50000"]) == 0
    assert "Epoch1 -->" in capsys.readouterr().out


@pytest.mark.parametrize("args, msg", [
    (["X", "-l", "-ps", "loss=bpr"], "-ps/-pf cannot be used"),
    (["{tr}"], "give the hyperparameters with -ps"),
    (["{tr}", "-ps", "loss=nope"], "valid: cross-entropy"),
    (["{tr}", "-ps", "layers=8", "-m", "0"], "cutoffs must be positive"),
    (["/nonexistent.tsv", "-ps", "layers=8"], "no such file"),
    (["{tr}", "-ps", "layers=8", "-pf", "x.py"], None),        # argparse: not allowed together
    (["{tr}", "-ps", "layers=8", "-e", "optimistic"], None),  # argparse choices
    (["/nonexistent.pt", "-l"], "no such file"),
])
def test_cli_errors(files, capsys, args, msg):
    d, tr, te = files
    args = [a.format(tr=tr) for a in args]
    if msg is None:
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2
        return
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error:" in err and msg in err, err


def test_preprocess_and_synthetic_still_registered(capsys):
    with pytest.raises(SystemExit):
        main(["synthetic", "--help"])
    assert "preset" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_on_tiny(capsys):
    assert main(["demo", "--preset", "tiny", "--epochs", "1", "-d", "cpu"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^gru4rec\s+\d\.\d{4}", out, re.M) and re.search(r"^popularity\s+\d\.\d{4}", out, re.M)
