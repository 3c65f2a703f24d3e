"""The ``predict`` command: top-k next items of every session of an event file.

    gru4rec-fast predict MODEL EVENTS -o OUT [-k 20] [--every-event] [--exclude-seen]
                         [--candidates FILE] [-d cpu] [-sk SessionId] [-ik ItemId] [-tk Time]

OUT is written by extension (.csv, .tsv/.txt, .parquet) with the columns of
``GRU4Rec.predict_next``: SessionId, [Position,] Rank, ItemId, Score.
"""
from gru4rec_fast.cli.train import CLIError, add_column_keys, device_arg

HELP = "top-k next items of every session in an event file"


def add_arguments(p):
    p.add_argument("model", metavar="MODEL", help="a model saved with -s/--save_model or save()")
    p.add_argument("events", metavar="EVENTS", help="events (TSV/CSV/Parquet/pickle)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output table: .csv, .tsv/.txt or .parquet")
    p.add_argument("-k", type=int, default=20, help="items per prediction (default 20)")
    p.add_argument("--every-event", action="store_true",
                   help="predict after every event (adds a Position column), not only the last")
    p.add_argument("--exclude-seen", action="store_true",
                   help="leave out the items already in the session")
    p.add_argument("--candidates", metavar="FILE",
                   help="text file of item ids to rank among, one per line (default: all)")
    p.add_argument("--batch-size", type=int, default=512, help="parallel session slots")
    p.add_argument("-d", "--device", default=None, help="cpu, cuda, cuda:0 (default: cuda if present)")
    add_column_keys(p)


def read_candidates(path, item_ids):
    """Item ids of a one-per-line file, converted to the model's id type."""
    import os
    if not os.path.isfile(path):
        raise CLIError(f"--candidates: no such file: {path}")
    with open(path, encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    if not lines:
        raise CLIError(f"--candidates: {path} lists no item ids")
    if item_ids.dtype.kind in "iu":
        try:
            return [int(x) for x in lines]
        except ValueError:
            raise CLIError(f"--candidates: {path}: the model's item ids are integers, "
                           f"the file has {next(x for x in lines if not x.lstrip('-').isdigit())!r}") from None
    return lines


def run(args):
    from gru4rec_fast.cli._tables import table_format, write_table
    from gru4rec_fast.model import GRU4Rec
    if args.k < 1:
        raise CLIError(f"-k must be a positive integer, got {args.k}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be a positive integer, got {args.batch_size}")
    table_format(args.output, "-o/--output")        # fail before any work
    model = GRU4Rec.load(args.model, device=device_arg(args.device))
    cand = None if args.candidates is None else read_candidates(args.candidates, model.item_index.ids)
    df = model.predict_next(args.events, k=args.k, candidates=cand, exclude_seen=args.exclude_seen,
                            every_event=args.every_event, session_key=args.session_key,
                            item_key=args.item_key, time_key=args.time_key,
                            batch_size=args.batch_size)
    write_table(df, args.output, "-o/--output")
    n_sessions = df[args.session_key].nunique() if len(df) else 0
    print(f"predict: {len(df)} rows for {n_sessions} sessions written to {args.output}")
    return 0
