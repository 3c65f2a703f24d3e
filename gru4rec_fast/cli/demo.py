"""The ``demo`` command: GRU4Rec trained and evaluated on a synthetic preset, beside the
popularity baseline."""
import time

from gru4rec_fast.cli.train import CLIError, device_arg

HELP = "train and evaluate on a synthetic preset; compare with popularity"

DEMO_PARAMS = dict(loss="cross-entropy", final_act="softmax", layers=[96], batch_size=64,
                   dropout_p_embed=0.0, dropout_p_hidden=0.0, learning_rate=0.1, momentum=0.0,
                   n_sample=2048, sample_alpha=0.5, bpreg=0.0, logq=1.0,
                   constrained_embedding=True, n_epochs=3)


def add_arguments(p):
    p.add_argument("--preset", default="small", help="synthetic preset (default: small)")
    p.add_argument("--epochs", type=int, default=DEMO_PARAMS["n_epochs"])
    p.add_argument("-d", "--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="CPU intra-op threads (default 1: this model is small, and spinning "
                        "OpenMP threads on a busy machine slowed epochs down up to 25x)")


def run(args):
    import numpy as np
    from gru4rec_fast.data import SessionDataset, synthetic
    from gru4rec_fast.model import GRU4Rec, evaluate
    from gru4rec_fast.model.evaluation import popularity_ranks
    device = device_arg(args.device)
    if args.epochs < 1:
        raise CLIError("--epochs must be >= 1")
    if args.threads < 1:
        raise CLIError("--threads must be >= 1")
    import torch
    torch.set_num_threads(args.threads)
    try:
        train, test = synthetic.preset(args.preset, seed=args.seed)
    except ValueError as e:
        raise CLIError(str(e)) from None
    print(f"demo: synthetic preset {args.preset!r}: {len(train)} training and {len(test)} test events")
    params = dict(DEMO_PARAMS, n_epochs=args.epochs)
    model = GRU4Rec(device=device, seed=args.seed, **params)
    t0 = time.time()
    model.fit(train)
    train_s = time.time() - t0
    cut = [1, 5, 10, 20]
    t0 = time.time()
    res = evaluate(model, test, cutoffs=cut)
    eval_s = time.time() - t0
    # popularity baseline on the same ranked events
    tr = SessionDataset.from_events(train)
    te = SessionDataset.from_events(test, item_index=tr.item_index)
    nxt = np.ones(te.n_events, dtype=bool)
    nxt[te.offsets[1:] - 1] = False          # every event but each session's last
    targets = te.items[np.flatnonzero(nxt) + 1]
    ranks = popularity_ranks(tr.supports, targets)
    pop = {"recall": {c: float((ranks <= c).mean()) for c in cut},
           "mrr": {c: float(np.where(ranks <= c, 1.0 / ranks, 0.0).mean()) for c in cut}}
    print(f"\nGRU4Rec (fused, {device}): trained in {train_s:.1f}s, evaluated in {eval_s:.1f}s "
          f"on {res['n_events']} test events")
    head = "model".ljust(14) + "".join(f"{'Recall@' + str(c):>11}" for c in cut) + \
        "".join(f"{'MRR@' + str(c):>9}" for c in cut)
    print(head)
    print("-" * len(head))
    for name, r in (("gru4rec", res), ("popularity", pop)):
        print(name.ljust(14) + "".join(f"{r['recall'][c]:>11.4f}" for c in cut) +
              "".join(f"{r['mrr'][c]:>9.4f}" for c in cut))
    return 0
