"""The ``train`` command: the reference run.py's arguments and output.

    gru4rec-fast train PATH [-ps STR | -pf FILE] [-l] [-s FILE] [-t TEST ...] [-m 1 5 10 20]
                            [-e standard] [-ss N] [-d cpu] [-ik ItemId] [-sk SessionId]
                            [-tk Time] [-pm recall|mrr] [-lpm]
                            [--warm-start MODEL] [--checkpoint DIR [--resume]]
    gru4rec-fast PATH ...   (the same; "train" may be left out, as with run.py)

PATH is the training data, or with -l a saved model. ``--warm-start MODEL`` continues
training the saved MODEL on PATH (new items are added; -ps/-pf then optionally change
hyperparameters such as n_epochs or learning_rate). ``--checkpoint DIR`` writes a
checkpoint after every epoch; ``--resume`` continues from it. Parameter files are Python files
defining ``gru4rec_params = OrderedDict([...])`` (or a dict literal), read with
``ast.literal_eval`` of that assignment (never executed), or JSON objects.
"""
import ast
import json
import os
import time

from gru4rec_fast.ops.enums import RANK_MODES

EVAL_TYPES = RANK_MODES  # the tie handling modes of evaluate()


class CLIError(ValueError):
    """A bad command-line argument; main() prints it and exits with status 2."""


def read_parameter_file(path):
    """The parameters of a parameter file as an ordered list of (name, value)."""
    if not os.path.isfile(path):
        raise CLIError(f"parameter file {path}: no such file")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.lower().endswith(".json"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise CLIError(f"parameter file {path}: invalid JSON ({e})") from None
        if not isinstance(obj, dict):
            raise CLIError(f"parameter file {path}: expected a JSON object of name: value")
        return list(obj.items())
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as e:
        raise CLIError(f"parameter file {path}: not valid Python ({e.msg}, line {e.lineno})") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "gru4rec_params"
                                                for t in node.targets):
            return _literal_params(node.value, path)
    raise CLIError(f"parameter file {path}: no assignment 'gru4rec_params = OrderedDict([...])' found")


def _literal_params(value, path):
    try:
        if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
            fname = value.func.id if isinstance(value.func, ast.Name) else value.func.attr
            if fname not in ("OrderedDict", "dict"):
                raise ValueError(f"call of {fname}")
            items = []
            if value.args:
                arg = ast.literal_eval(value.args[0])
                items.extend(arg.items() if isinstance(arg, dict) else arg)
            items.extend((kw.arg, ast.literal_eval(kw.value)) for kw in value.keywords)
        else:
            arg = ast.literal_eval(value)
            if not isinstance(arg, dict):
                raise ValueError("not a dict")
            items = list(arg.items())
        return [(str(k), v) for k, v in items]
    except (ValueError, TypeError, SyntaxError) as e:
        raise CLIError(f"parameter file {path}: gru4rec_params must be OrderedDict([...]) or a dict "
                       f"of literal values ({e})") from None


HELP = "train and/or evaluate GRU4Rec (the reference run.py's arguments)"


def add_arguments(p):
    p.add_argument("path", metavar="PATH", help="training data (TSV/CSV/Parquet/pickle), or with "
                   "-l a saved model")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-ps", "--parameter_string", metavar="PARAM_STRING",
                   help="e.g. 'loss=bpr-max,layers=100,constrained_embedding=True'")
    g.add_argument("-pf", "--parameter_file", metavar="PARAM_PATH",
                   help="a Python file defining gru4rec_params = OrderedDict([...]), or JSON")
    p.add_argument("-l", "--load_model", action="store_true", help="PATH is a saved model to load")
    p.add_argument("-s", "--save_model", metavar="MODEL_PATH", help="save the trained model here")
    p.add_argument("-t", "--test", metavar="TEST_PATH", nargs="+", help="test data to evaluate on")
    p.add_argument("-m", "--measure", metavar="AT", type=int, nargs="+", default=[20],
                   help="cutoffs of recall and MRR (default: 20)")
    p.add_argument("-e", "--eval_type", metavar="EVAL_TYPE", default="standard", choices=EVAL_TYPES,
                   help="tie handling: " + ", ".join(EVAL_TYPES))
    p.add_argument("-ss", "--sample_store_size", metavar="SS", type=int, default=10_000_000,
                   help="negative samples precomputed at once (default 10000000)")
    p.add_argument("-d", "--device", default=None, help="cpu, cuda, cuda:0 (default: cuda if present)")
    add_column_keys(p)
    p.add_argument("-pm", "--primary_metric", default="recall", choices=("recall", "mrr"))
    p.add_argument("-lpm", "--log_primary_metric", action="store_true",
                   help="print 'PRIMARY METRIC: x' (first cutoff)")
    p.add_argument("--backend", default="fused", choices=("fused", "reference"))
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--eval_batch_size", type=int, default=512)
    p.add_argument("--warm-start", dest="warm_start", metavar="MODEL",
                   help="continue training the saved MODEL on PATH (the new events only; new "
                   "items are added to its catalogue; the model keeps its own seed); -ps/-pf "
                   "optionally change hyperparameters such as n_epochs")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="write DIR/checkpoint.pt at the end of every epoch")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --checkpoint DIR (starts from the "
                   "beginning when there is none yet)")


def add_column_keys(p):
    """The event columns' names (-ik/-sk/-tk), as the reference's run.py names them; one
    definition for every command that reads events."""
    p.add_argument("-ik", "--item_key", default="ItemId")
    p.add_argument("-sk", "--session_key", default="SessionId")
    p.add_argument("-tk", "--time_key", default="Time")


def device_arg(arg):
    """The torch device of a -d/--device argument (default: cuda if present)."""
    import torch
    if arg is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(arg)
    except RuntimeError:
        raise CLIError(f"invalid device {arg!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CLIError(f"device {arg!r} requested but CUDA is not available here")
    return str(dev)


def run(args):
    from gru4rec_fast.model import GRU4Rec, evaluate
    device = device_arg(args.device)
    if any(m < 1 for m in args.measure):
        raise CLIError(f"-m/--measure: cutoffs must be positive integers, got {args.measure}")
    if args.sample_store_size < 0:
        raise CLIError("-ss/--sample_store_size must be >= 0")
    warm = getattr(args, "warm_start", None)
    ck_dir, resume = getattr(args, "checkpoint", None), getattr(args, "resume", False)
    if resume and not ck_dir:
        raise CLIError("--resume needs --checkpoint DIR (the folder of the checkpoint)")
    if ck_dir and os.path.exists(ck_dir) and not os.path.isdir(ck_dir):
        raise CLIError(f"--checkpoint {ck_dir}: exists and is not a folder")
    if args.load_model and (warm or ck_dir):
        raise CLIError("-l/--load_model only evaluates a saved model; it cannot be combined with "
                       "--warm-start or --checkpoint")
    fit_kw = dict(sample_store_size=args.sample_store_size, session_key=args.session_key,
                  item_key=args.item_key, time_key=args.time_key, checkpoint_dir=ck_dir,
                  resume=resume)
    if warm:
        if not os.path.isfile(warm):
            raise CLIError(f"--warm-start {warm}: no such model file")
        print(f"Loading trained model from file: {warm} (to device \"{device}\")")
        try:
            model = GRU4Rec.load(warm, device=device, backend=args.backend)
        except ValueError as e:
            raise CLIError(f"--warm-start {warm}: {e}") from None
        if args.parameter_file:
            for k, v in read_parameter_file(args.parameter_file):
                model.set_params(**{k: v})
        elif args.parameter_string:
            model.set_params(args.parameter_string)
        print(f"Continuing training on {args.path} ({model.n_items} items so far)...")
        t0 = time.time()
        n_before = model.n_items
        model.fit(args.path, warm_start=True, **fit_kw)
        print(f"Training finished in {time.time() - t0:.2f}s ({model.n_items - n_before} new items, "
              f"{model.n_items} in all)")
    elif args.load_model:
        if args.parameter_string or args.parameter_file:
            raise CLIError("-l/--load_model loads a trained model; -ps/-pf cannot be used with it")
        print(f"Loading trained model from file: {args.path} (to device \"{device}\")")
        model = GRU4Rec.load(args.path, device=device)
    else:
        if not (args.parameter_string or args.parameter_file):
            raise CLIError("give the hyperparameters with -ps/--parameter_string or "
                           "-pf/--parameter_file (or load a model with -l)")
        model = GRU4Rec(device=device, seed=args.seed, backend=args.backend)
        if args.parameter_file:
            items = read_parameter_file(args.parameter_file)
            for k, v in items:
                model.set_params(**{k: v})
        else:
            model.set_params(args.parameter_string)
        print("Creating GRU4Rec model on device \"{}\"".format(device))
        print("SET   " + "\n      ".join(f"{k:<22}TO   {v}" for k, v in model.hyper.items()))
        for w in model.warnings:
            print(f"WARNING: {w}")
        print(f"Loading training data from {args.path}...")
        t0 = time.time()
        model.fit(args.path, **fit_kw)
        print(f"Training finished in {time.time() - t0:.2f}s")
    if args.save_model:
        print(f"Saving trained model to: {args.save_model}")
        model.save(args.save_model)
    if args.test:
        for path in args.test:
            print(f"Loading test data from {path}...")
            print(f"Starting evaluation (cut-off={args.measure}, using {args.eval_type} mode for tiebreaking)")
            t0 = time.time()
            res = evaluate(model, path, cutoffs=args.measure, mode=args.eval_type,
                           batch_size=args.eval_batch_size, session_key=args.session_key,
                           item_key=args.item_key, time_key=args.time_key)
            print(f"Evaluation took {time.time() - t0:.2f}s")
            for c in args.measure:
                print(f"Recall@{c}: {res['recall'][c]:.6f} MRR@{c}: {res['mrr'][c]:.6f}")
            if args.log_primary_metric:
                print(f"PRIMARY METRIC: {res[args.primary_metric][args.measure[0]]}")
    return 0
