"""Command line: ``gru4rec-fast <command> ...`` (also ``python -m gru4rec_fast``).

Commands are registered in COMMANDS (name -> (add_arguments, run)); other layers add
theirs the same way.
"""
import argparse
import sys


def _add_preprocess(p):
    from gru4rec_fast.data.preprocess import DATASETS
    p.add_argument("dataset", choices=DATASETS, help="which public data set")
    p.add_argument("raw_path", help="the raw file, or the folder holding it")
    p.add_argument("out_dir", help="folder for the <dataset>_{train_full,test,train_tr,"
                                   "train_valid}.tsv files")
    p.add_argument("--test-days", type=float, default=None,
                   help="days at the end that go to test (default: the study's value)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _run_preprocess(args):
    from gru4rec_fast.data.preprocess import preprocess
    preprocess(args.dataset, args.raw_path, args.out_dir, test_days=args.test_days,
               progress=False if args.no_progress else None, verbose=True)
    return 0


def _add_synthetic(p):
    from gru4rec_fast.data.synthetic import PRESETS
    p.add_argument("preset", choices=sorted(PRESETS), help="named size/shape")
    p.add_argument("out_dir", help="folder for synthetic_<preset>_{train,test}.tsv")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-events", type=int, default=None, help="override the event count")


def _run_synthetic(args):
    import os
    from gru4rec_fast.data.preprocess import _stats, format_stats, write_tsv
    from gru4rec_fast.data.synthetic import preset
    import pandas as pd
    over = {} if args.n_events is None else {"n_events": args.n_events}
    train, test = preset(args.preset, seed=args.seed, **over)
    rows = []
    for name, df in (("train", train), ("test", test)):
        write_tsv(df, os.path.join(args.out_dir, f"synthetic_{args.preset}_{name}.tsv"))
        rows.append(_stats(name, df["SessionId"].to_numpy(), df["ItemId"].to_numpy(),
                           df["Time"].to_numpy()))
    print(format_stats(pd.DataFrame(rows)))
    return 0


COMMANDS = {
    "preprocess": (_add_preprocess, _run_preprocess,
                   "preprocess a public data set (RecSys 2023 study recipe)"),
    "synthetic": (_add_synthetic, _run_synthetic, "write a synthetic data set preset"),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="gru4rec-fast",
                                     description="Fast, faithful GRU4Rec.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add, _run, help_) in COMMANDS.items():
        add(sub.add_parser(name, help=help_, description=help_))
    return parser


def main(argv=None):
    from gru4rec_fast.data.errors import DataError
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except DataError as e:
        print(f"gru4rec-fast {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
