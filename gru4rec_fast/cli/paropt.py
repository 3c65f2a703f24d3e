"""The ``paropt`` command: hyperparameter optimisation on Optuna (the reference
paropt.py's arguments, trials in-process, studies shareable between machines).

    gru4rec-fast paropt TRAIN TEST -opf SPACE [-fp FIXED] [-nt N] [-pm recall|mrr] [-m AT]
                        [-fm AT ...] [-e MODE] [-d DEVICE] [-ik/-sk/-tk KEY] [-o OUT]
                        [--storage URL] [--study-name NAME] [--workers K] [--timeout S]
                        [--seed S] [--pruning]

One machine: the study lives in OUT/study.db (SQLite) and --workers K processes share it.
Many machines: start the same command on each with one --storage URL (PostgreSQL or
MySQL) and --study-name; -nt counts the study's trials over all of them. After the
trials, the process writes OUT/trials.tsv, OUT/best_params.py (for ``train -pf``),
OUT/history.png, OUT/importances.png, and trains and evaluates the best setup at the
-fm cut-offs (OUT/final_evaluation.tsv); --trials-only skips that (extra workers).
"""
import os
import sys

from gru4rec_fast.cli.train import (EVAL_TYPES, CLIError, add_column_keys, device_arg,
                                    read_parameter_file)

HELP = "optimise hyperparameters with Optuna (one machine, or many via a shared database)"


def add_arguments(p):
    p.add_argument("train", metavar="PATH", help="training data of the search (e.g. "
                   "<dataset>_train_tr.tsv)")
    p.add_argument("test", metavar="TEST_PATH", help="data each trial is evaluated on (e.g. "
                   "<dataset>_train_valid.tsv)")
    p.add_argument("-opf", "--optuna_parameter_file", metavar="PATH", required=True,
                   help="parameter space: one JSON object per line (see examples/paramspaces)")
    p.add_argument("-fp", "--fixed_parameters", metavar="PARAM_STRING",
                   help="fixed parameters: a parameter string ('loss=bpr-max,n_epochs=10') or "
                        "a parameter file")
    p.add_argument("-nt", "--ntrials", metavar="NT", type=int, default=50,
                   help="trials in the study in total, over all workers and machines "
                        "(default 50)")
    p.add_argument("-m", "--measure", metavar="AT", type=int, default=20,
                   help="cut-off of the optimised metric (default 20)")
    p.add_argument("-fm", "--final_measure", metavar="AT", type=int, nargs="+", default=[20],
                   help="cut-offs of the best setup's final evaluation (default 20)")
    p.add_argument("-pm", "--primary_metric", default="recall", choices=("recall", "mrr"))
    p.add_argument("-e", "--eval_type", metavar="EVAL_TYPE", default="standard",
                   choices=EVAL_TYPES, help="tie handling: " + ", ".join(EVAL_TYPES))
    p.add_argument("-d", "--device", default=None, help="cpu, cuda, cuda:0 (default: cuda if "
                   "present)")
    add_column_keys(p)
    p.add_argument("-ss", "--sample_store_size", metavar="SS", type=int, default=10_000_000)
    p.add_argument("-o", "--out", default="paropt_out",
                   help="folder for the results (and the default SQLite study)")
    p.add_argument("--storage", metavar="URL", default=None,
                   help="Optuna storage: sqlite:///file.db, a file path, or postgresql://"
                        "user:pass@host/db / mysql+pymysql://... shared by machines "
                        "(default: sqlite:///OUT/study.db)")
    p.add_argument("--study-name", default="gru4rec", help="study to create or join "
                   "(default gru4rec)")
    p.add_argument("--workers", metavar="K", type=int, default=1,
                   help="worker processes on this machine, one trial at a time each")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads per worker (default: gru4rec_fast's default thread "
                   "count / K, at least 1; see docs/threads.md)")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=None,
                   help="start no trial after this many seconds")
    p.add_argument("--seed", type=int, default=None,
                   help="the TPE sampler's seed (worker i uses seed+i; give each machine its own)")
    p.add_argument("--model-seed", type=int, default=42, help="GRU4Rec seed of every trial")
    p.add_argument("--pruning", action="store_true",
                   help="evaluate after each epoch and stop poor trials (median pruner)")
    p.add_argument("--heartbeat", metavar="SECONDS", type=int, default=30,
                   help="heartbeat interval of running trials (default 30)")
    p.add_argument("--grace", metavar="SECONDS", type=int, default=120,
                   help="a running trial without a heartbeat for this long is marked failed "
                        "(default 120)")
    p.add_argument("--trials-only", action="store_true",
                   help="run trials only: no outputs, no final evaluation")
    p.add_argument("--backend", default="fused", choices=("fused", "reference"))
    p.add_argument("--eval_batch_size", type=int, default=512)
    p.add_argument("-v", "--verbose", action="store_true", help="print every trial's epochs")


def _fixed(arg):
    from gru4rec_fast.model import params as P
    if not arg:
        return []
    if os.path.isfile(arg):
        return read_parameter_file(arg)
    try:
        return list(P.parse_param_string(arg).items())
    except ValueError as e:
        raise CLIError(f"-fp/--fixed_parameters: {e}") from None


def _config(args):
    from gru4rec_fast.tune.config import TuneConfig
    from gru4rec_fast.tune.space import SpaceError, read_space
    from gru4rec_fast.tune.storage import normalise_url
    if args.ntrials < 0:
        raise CLIError(f"-nt/--ntrials must be >= 0, got {args.ntrials}")
    if args.measure < 1 or any(c < 1 for c in args.final_measure):
        raise CLIError("-m/-fm: cut-offs must be positive integers")
    if args.workers < 1:
        raise CLIError(f"--workers must be >= 1, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        raise CLIError(f"--threads must be >= 1, got {args.threads}")
    if args.timeout is not None and args.timeout <= 0:
        raise CLIError("--timeout must be > 0 seconds")
    if args.heartbeat < 1 or args.grace <= args.heartbeat:
        raise CLIError(f"--heartbeat ({args.heartbeat}) must be >= 1 and below --grace "
                       f"({args.grace})")
    for what, path in (("training data", args.train), ("TEST_PATH", args.test)):
        if not os.path.exists(path):
            raise CLIError(f"{what} {path}: no such file")
    try:
        space = read_space(args.optuna_parameter_file)
    except SpaceError as e:
        raise CLIError(str(e)) from None
    fixed = _fixed(args.fixed_parameters)
    from gru4rec_fast.cpu_threads import default_threads
    threads = args.threads or max(1, default_threads() // args.workers)
    storage = args.storage or "sqlite:///" + os.path.abspath(os.path.join(args.out, "study.db"))
    return TuneConfig(
        train=os.path.abspath(args.train), test=os.path.abspath(args.test), space=space,
        storage=normalise_url(storage), study_name=args.study_name, fixed=fixed,
        n_trials=args.ntrials, timeout=args.timeout, metric=args.primary_metric,
        cutoff=args.measure, eval_mode=args.eval_type, device=device_arg(args.device),
        seed=args.seed, model_seed=args.model_seed, backend=args.backend,
        pruning=args.pruning, threads=threads, heartbeat_interval=args.heartbeat,
        grace_period=args.grace, sample_store_size=args.sample_store_size,
        eval_batch_size=args.eval_batch_size, session_key=args.session_key,
        item_key=args.item_key, time_key=args.time_key, verbose=args.verbose)


def _check_params(cfg):
    """The fixed parameters must make a valid model (the space is checked when read)."""
    from gru4rec_fast.tune.objective import make_model
    try:
        make_model(cfg, cfg.fixed)
    except ValueError as e:
        raise CLIError(f"-fp/--fixed_parameters: {e}") from None


def run(args):
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise CLIError("paropt needs Optuna: pip install 'gru4rec_fast[tune]' (optuna, "
                       "matplotlib, psycopg)") from None
    from gru4rec_fast.tune.storage import redact
    from gru4rec_fast.tune.worker import StudyMismatchError, open_study, run_workers
    cfg = _config(args)
    _check_params(cfg)
    print("-" * 80)
    print("PARAMETER SPACE")
    for p in cfg.space:
        print("    " + p.describe())
    print("FIXED   " + (", ".join(f"{k}={v}" for k, v in cfg.fixed) or "(none)"))
    print(f"STUDY   {cfg.study_name!r} in {redact(cfg.storage)}: {cfg.n_trials} trials in total, "
          f"maximising {cfg.metric}@{cfg.cutoff} on {args.test}; {args.workers} worker(s) here, "
          f"{cfg.threads} thread(s) each, device {cfg.device}"
          f"{', pruning' if cfg.pruning else ''}")
    print("-" * 80, flush=True)
    from sqlalchemy.exc import SQLAlchemyError
    try:
        study = open_study(cfg)        # creates the tables and the study once, checks it
    except StudyMismatchError as e:
        raise CLIError(str(e)) from None
    except SQLAlchemyError as e:
        first = str(e.orig if getattr(e, "orig", None) is not None else e).strip().splitlines()
        raise CLIError(f"cannot open the study storage {redact(cfg.storage)}: "
                       f"{first[0] if first else type(e).__name__}") from None
    try:
        statuses = run_workers(cfg, args.workers)
        failed = [i for i, s in enumerate(statuses) if s != 0]
        if failed:
            print(f"paropt: worker(s) {failed} stopped with an error (see above)",
                  file=sys.stderr)
        if args.trials_only:
            return 1 if failed else 0
        status = _report(study, cfg, args)
        return 1 if failed else status
    except KeyboardInterrupt:
        print(f"\nparopt: interrupted; running trials are recorded as FAIL, the study "
              f"{cfg.study_name!r} is consistent; run the same command to continue it.",
              file=sys.stderr)
        return 130


def _report(study, cfg, args):
    from gru4rec_fast.tune import report
    from gru4rec_fast.tune.objective import TrialData, train_and_evaluate
    from gru4rec_fast.tune.storage import wait_for_running_trials
    wait_for_running_trials(study)             # the report covers every trial
    out = args.out
    table = report.trials_table(study, cfg.space)
    report.write_trials_table(table, os.path.join(out, report.TRIALS))
    counts = table["state"].value_counts().to_dict()
    print(f"\nStudy {cfg.study_name!r}: {len(table)} trials ("
          + ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) + ")")
    best = report.best_parameters(study, cfg)
    if best is None:
        print("paropt: no trial completed, so there are no best parameters "
              f"(see {os.path.join(out, report.TRIALS)})", file=sys.stderr)
        return 1
    bt = study.best_trial
    best_path = os.path.join(out, report.BEST_PARAMS)
    report.write_parameter_file(best, best_path, header=(
        f"Best GRU4Rec setup of paropt study {cfg.study_name!r}: trial {bt.number}, "
        f"{cfg.metric}@{cfg.cutoff} = {bt.value:.6f} on {args.test} ({len(table)} trials).\n"
        f"Use: gru4rec-fast TRAIN -pf {best_path} -t TEST "
        f"-m {' '.join(map(str, args.final_measure))}"))
    print(f"Best trial {bt.number}: {cfg.metric}@{cfg.cutoff} = {bt.value:.6f}")
    print("BEST  " + "\n      ".join(f"{k:<22}{v}" for k, v in best.items()))
    for name, why in report.write_plots(study, out).items():
        print(f"  {os.path.join(out, name)}" + (f"  (not drawn: {why})" if why else ""))
    print(f"  {os.path.join(out, report.TRIALS)}\n  {best_path}")
    # the final run reads the written file back: what -pf would train
    from gru4rec_fast.cli.train import read_parameter_file
    params = read_parameter_file(best_path)
    print(f"Running final eval @{args.final_measure}: training the best setup on {args.train}")
    _, res = train_and_evaluate(cfg, TrialData(cfg), params, args.final_measure, verbose=True)
    for c in args.final_measure:
        print(f"Recall@{c}: {res['recall'][c]:.6f} MRR@{c}: {res['mrr'][c]:.6f}")
    report.write_final_evaluation(res, args.final_measure, os.path.join(out, report.FINAL))
    return 0
