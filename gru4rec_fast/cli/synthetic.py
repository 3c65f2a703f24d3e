"""The ``synthetic`` command: write a synthetic data set preset as train/test TSV files."""
HELP = "write a synthetic data set preset"


def add_arguments(p):
    from gru4rec_fast.data.synthetic import PRESETS
    p.add_argument("preset", choices=sorted(PRESETS), help="named size/shape")
    p.add_argument("out_dir", help="folder for synthetic_<preset>_{train,test}.tsv")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-events", type=int, default=None, help="override the event count")


def run(args):
    import os

    import pandas as pd

    from gru4rec_fast.data.preprocess import _stats, format_stats, write_tsv
    from gru4rec_fast.data.synthetic import preset
    over = {} if args.n_events is None else {"n_events": args.n_events}
    train, test = preset(args.preset, seed=args.seed, **over)
    rows = []
    for name, df in (("train", train), ("test", test)):
        write_tsv(df, os.path.join(args.out_dir, f"synthetic_{args.preset}_{name}.tsv"))
        rows.append(_stats(name, df["SessionId"].to_numpy(), df["ItemId"].to_numpy(),
                           df["Time"].to_numpy()))
    print(format_stats(pd.DataFrame(rows)))
    return 0
