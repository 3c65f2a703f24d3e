"""The ``preprocess`` command: a public data set's raw file to train/test TSV files."""
HELP = "preprocess a public data set (RecSys 2023 study recipe)"


def add_arguments(p):
    from gru4rec_fast.data.preprocess import DATASETS
    p.add_argument("dataset", choices=DATASETS, help="which public data set")
    p.add_argument("raw_path", help="the raw file, or the folder holding it")
    p.add_argument("out_dir", help="folder for the <dataset>_{train_full,test,train_tr,"
                                   "train_valid}.tsv files")
    p.add_argument("--test-days", type=float, default=None,
                   help="days at the end that go to test (default: the study's value)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args):
    from gru4rec_fast.data.preprocess import preprocess
    preprocess(args.dataset, args.raw_path, args.out_dir, test_days=args.test_days,
               progress=False if args.no_progress else None, verbose=True)
    return 0
