"""The ``export`` command: item and/or session embeddings of a model as tables.

    gru4rec-fast export MODEL [--items OUT] [--sessions EVENTS OUT2] [-d cpu]
                        [-sk SessionId] [-ik ItemId] [-tk Time]

--items writes one row per item: ItemId, bias, out_0.. (output-layer vectors) and, for a
separate input embedding, in_0.. (see ``ItemEmbeddings.to_frame``). --sessions writes
one row per session of EVENTS: SessionId, h_0.. (the final hidden state). Tables are
written by extension (.csv, .tsv/.txt, .parquet).
"""
from gru4rec_fast.cli.train import CLIError, add_column_keys, device_arg

HELP = "export item and session embeddings of a model"


def add_arguments(p):
    p.add_argument("model", metavar="MODEL", help="a saved model")
    p.add_argument("--items", metavar="OUT", help="item embeddings table (.csv/.tsv/.parquet)")
    p.add_argument("--sessions", nargs=2, metavar=("EVENTS", "OUT2"),
                   help="events to run, and the session embeddings table to write")
    p.add_argument("--batch-size", type=int, default=512, help="parallel session slots")
    p.add_argument("-d", "--device", default=None, help="cpu, cuda, cuda:0 (default: cuda if present)")
    add_column_keys(p)


def run(args):
    from gru4rec_fast.cli._tables import table_format, write_table
    from gru4rec_fast.model import GRU4Rec
    if args.items is None and args.sessions is None:
        raise CLIError("nothing to export: give --items OUT and/or --sessions EVENTS OUT2")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be a positive integer, got {args.batch_size}")
    if args.items is not None:
        table_format(args.items, "--items")
    if args.sessions is not None:
        table_format(args.sessions[1], "--sessions")
    model = GRU4Rec.load(args.model, device=device_arg(args.device))
    if args.items is not None:
        emb = model.item_embeddings()
        write_table(emb.to_frame(args.item_key), args.items, "--items")
        print(f"export: {len(emb.ids)} item embeddings ({emb.mode} embedding mode) written "
              f"to {args.items}")
    if args.sessions is not None:
        events, out = args.sessions
        se = model.session_embeddings(events, session_key=args.session_key,
                                      item_key=args.item_key, time_key=args.time_key,
                                      batch_size=args.batch_size)
        write_table(se.to_frame(args.session_key), out, "--sessions")
        print(f"export: {len(se.session_ids)} session embeddings written to {out}")
    return 0
