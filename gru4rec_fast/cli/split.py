"""The ``split`` command: a validation split of any training file, made the way the test
split is (splitting.time_split): sessions starting in the last ``--days`` days go to
``<prefix>_valid.tsv``, the events before that point to ``<prefix>_tr.tsv``. Tune with
``paropt <prefix>_tr.tsv <prefix>_valid.tsv``, then train the result on the full file.
(``preprocess`` writes these splits of the public data sets already.)"""
import os

from gru4rec_fast.cli.train import CLIError, add_column_keys

HELP = "time-split a training file into <prefix>_tr.tsv / <prefix>_valid.tsv (for paropt)"


def add_arguments(p):
    p.add_argument("path", metavar="PATH", help="training data (TSV/CSV/Parquet/pickle)")
    p.add_argument("--days", type=float, required=True,
                   help="days at the end whose sessions form the validation set (the test "
                        "split's value, e.g. 1 or 7)")
    p.add_argument("-o", "--prefix", default=None,
                   help="output prefix (default: PATH without its extension)")
    add_column_keys(p)


def output_paths(path, prefix=None):
    """(train part, validation part) file names of a split of ``path``."""
    if prefix is None:
        prefix = os.path.splitext(path)[0]
    return f"{prefix}_tr.tsv", f"{prefix}_valid.tsv"


def run(args):
    import pandas as pd
    from gru4rec_fast.data import read_events, time_split
    from gru4rec_fast.data.preprocess import _stats, format_stats, write_tsv
    if not args.days > 0:
        raise CLIError(f"--days must be > 0, got {args.days}")
    keys = dict(session_key=args.session_key, item_key=args.item_key, time_key=args.time_key)
    df = read_events(args.path, **keys)
    tr, valid = time_split(df, args.days, **keys)
    if len(tr) == 0 or len(valid) == 0:
        raise CLIError(f"split of {args.path} at {args.days} day(s) leaves the "
                       f"{'training' if len(tr) == 0 else 'validation'} part empty "
                       f"({len(tr)} / {len(valid)} events); choose another --days")
    tr_path, valid_path = output_paths(args.path, args.prefix)
    rows = []
    for name, part, path in (("tr", tr, tr_path), ("valid", valid, valid_path)):
        write_tsv(part, path)
        rows.append(_stats(name, part[args.session_key].to_numpy(),
                           part[args.item_key].to_numpy(), part[args.time_key].to_numpy()))
    print(f"{args.path} -> {tr_path}, {valid_path}")
    print(format_stats(pd.DataFrame(rows)))
    return 0
