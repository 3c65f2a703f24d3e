"""Command line: ``gru4rec-fast <command> ...`` (also ``python -m gru4rec_fast``).

One module per command in this package, each with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> exit status``; COMMANDS lists them. Heavy imports happen inside
``run``, so ``--help`` stays quick.
"""
import argparse
import importlib
import sys

# command name -> module of this package
COMMANDS = {
    "preprocess": "preprocess",
    "synthetic": "synthetic",
    "train": "train",
    "demo": "demo",
    "paropt": "paropt",
    "split": "split",
    "predict": "predict",
    "export": "export",
}


def _command(name):
    return importlib.import_module(f"gru4rec_fast.cli.{COMMANDS[name]}")


def build_parser():
    parser = argparse.ArgumentParser(prog="gru4rec-fast",
                                     description="Fast, faithful GRU4Rec.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        mod = _command(name)
        mod.add_arguments(sub.add_parser(name, help=mod.HELP, description=mod.HELP))
    return parser


def main(argv=None):
    from gru4rec_fast.data.errors import DataError
    argv = list(sys.argv[1:] if argv is None else argv)
    # run.py style: `gru4rec-fast PATH -ps ...` means `gru4rec-fast train PATH -ps ...`
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "train")
    args = build_parser().parse_args(argv)
    errors = (DataError, ValueError, FileNotFoundError)
    from gru4rec_fast.model.gru4rec import TrainingDivergedError
    errors += (TrainingDivergedError,)
    try:
        return _command(args.command).run(args)
    except errors as e:
        # DataError, bad arguments (ValueError, CLIError), missing files and diverged
        # training: one clear line, exit status 2
        print(f"gru4rec-fast {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
