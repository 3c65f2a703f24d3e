"""``gru4rec-fast split``: the validation split of a training file is time_split's, as
written files, and bad input exits 2."""
import pandas as pd

from gru4rec_fast.cli import main
from gru4rec_fast.data import synthetic, time_split


def test_split_writes_time_split_parts(tmp_path, capsys):
    df = synthetic.generate(n_events=3000, n_items=200, seed=4, n_days=10)
    path = tmp_path / "events_train.tsv"
    df.to_csv(path, sep="\t", index=False)
    assert main(["split", str(path), "--days", "2"]) == 0
    tr = pd.read_csv(tmp_path / "events_train_tr.tsv", sep="\t")
    valid = pd.read_csv(tmp_path / "events_train_valid.tsv", sep="\t")
    want_tr, want_valid = time_split(df, 2)
    pd.testing.assert_frame_equal(tr, want_tr, check_dtype=False)
    pd.testing.assert_frame_equal(valid, want_valid, check_dtype=False)
    assert len(tr) > 0 and len(valid) > 0
    assert valid["Time"].min() >= df["Time"].max() - 2 * 86400      # the last 2 days
    out = capsys.readouterr().out
    assert "events_train_tr.tsv" in out and "valid" in out


def test_split_prefix_and_errors(tmp_path, capsys):
    df = synthetic.generate(n_events=2000, n_items=100, seed=1, n_days=5)
    path = tmp_path / "x.tsv"
    df.to_csv(path, sep="\t", index=False)
    assert main(["split", str(path), "--days", "1", "-o", str(tmp_path / "sub" / "p")]) == 0
    for part in ("p_tr.tsv", "p_valid.tsv"):
        assert (tmp_path / "sub" / part).is_file()
    assert main(["split", str(path), "--days", "0"]) == 2
    assert "--days must be > 0" in capsys.readouterr().err
    assert main(["split", str(path), "--days", "100"]) == 2
    assert "training part empty" in capsys.readouterr().err
    assert main(["split", str(tmp_path / "absent.tsv"), "--days", "1"]) == 2
