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


def _add_train(p):
    from gru4rec_fast.model.cli import add_train_arguments
    add_train_arguments(p)


def _run_train(args):
    from gru4rec_fast.model.cli import run_train
    return run_train(args)


def _add_demo(p):
    from gru4rec_fast.model.cli import add_demo_arguments
    add_demo_arguments(p)


def _run_demo(args):
    from gru4rec_fast.model.cli import run_demo
    return run_demo(args)


COMMANDS = {
    "preprocess": (_add_preprocess, _run_preprocess,
                   "preprocess a public data set (RecSys 2023 study recipe)"),
    "synthetic": (_add_synthetic, _run_synthetic, "write a synthetic data set preset"),
    "train": (_add_train, _run_train,
              "train and/or evaluate GRU4Rec (the reference run.py's arguments)"),
    "demo": (_add_demo, _run_demo,
             "train and evaluate on a synthetic preset; compare with popularity"),
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
    argv = list(sys.argv[1:] if argv is None else argv)
    # run.py style: `gru4rec-fast PATH -ps ...` means `gru4rec-fast train PATH -ps ...`
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "train")
    args = build_parser().parse_args(argv)
    errors = (DataError, ValueError, FileNotFoundError)
    if args.command in ("train", "demo"):
        from gru4rec_fast.model.gru4rec import TrainingDivergedError
        errors += (TrainingDivergedError,)
    try:
        return COMMANDS[args.command][1](args)
    except errors as e:
        # DataError, the model's bad-argument errors (ValueError), missing files and
        # diverged training: one clear line, exit status 2
        print(f"gru4rec-fast {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
