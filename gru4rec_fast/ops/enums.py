"""Parsing of activation, loss and optimiser names into the integer codes of
csrc/common/enums.h, and the other fixed tables (optimiser defaults and state tensors,
embedding and rank modes, item tables), all read from gru4rec_fast/ops/_codes.py: the
file generated from the extension's tables (scripts/gen_codes.py), never retyped here.

Names follow the spec: "linear", "relu", "tanh", "leaky-X", "elu-X", "selu-X-Y",
"softmax", "softmax_logit"; losses "cross-entropy", "xe_logit", "bpr", "bpr-max",
"top1", "top1-max"; optimisers "sgd", "adagrad", "rmsprop", "adam", "adadelta".
"""
from typing import NamedTuple

from gru4rec_fast.ops import _codes

# name -> code (a code is the position in its table)
ACTIVATIONS = {name: code for code, (name, _) in enumerate(_codes.ACTIVATIONS)}
LOSSES = {name: code for code, name in enumerate(_codes.LOSSES)}
OPTIMIZERS = {name: code for code, (name, _, _) in enumerate(_codes.OPTIMIZERS)}
EMBEDDING_MODES = {name: code for code, name in enumerate(_codes.EMBEDDING_MODES)}
RANK_MODES = _codes.RANK_MODES
STATE_NAMES = _codes.STATE_NAMES
ITEM_TABLES = _codes.ITEM_TABLES
LAYER_WEIGHTS = _codes.LAYER_WEIGHTS

ACT_LINEAR, ACT_RELU, ACT_TANH = ACTIVATIONS["linear"], ACTIVATIONS["relu"], ACTIVATIONS["tanh"]
ACT_LEAKY, ACT_ELU, ACT_SELU = ACTIVATIONS["leaky"], ACTIVATIONS["elu"], ACTIVATIONS["selu"]
ACT_SOFTMAX, ACT_SOFTMAX_LOGIT = ACTIVATIONS["softmax"], ACTIVATIONS["softmax_logit"]
LOSS_CROSS_ENTROPY, LOSS_XE_LOGIT, LOSS_BPR = LOSSES["cross-entropy"], LOSSES["xe_logit"], LOSSES["bpr"]
LOSS_BPR_MAX, LOSS_TOP1, LOSS_TOP1_MAX = LOSSES["bpr-max"], LOSSES["top1"], LOSSES["top1-max"]
OPT_SGD, OPT_ADAGRAD, OPT_RMSPROP = OPTIMIZERS["sgd"], OPTIMIZERS["adagrad"], OPTIMIZERS["rmsprop"]
OPT_ADAM, OPT_ADADELTA = OPTIMIZERS["adam"], OPTIMIZERS["adadelta"]
EMB_SHARED, EMB_SEPARATE, EMB_NONE = (EMBEDDING_MODES["shared"], EMBEDDING_MODES["separate"],
                                      EMBEDDING_MODES["none"])

_N_PARAMS = dict(_codes.ACTIVATIONS)
_SIMPLE_ACTS = {name: code for name, code in ACTIVATIONS.items() if _N_PARAMS[name] == 0}
_PARAM_ACTS = {name: (code, _N_PARAMS[name]) for name, code in ACTIVATIONS.items()
               if _N_PARAMS[name] > 0}
ROWWISE_ACTS = tuple(range(_codes.N_HIDDEN_ACTIVATIONS, len(_codes.ACTIVATIONS)))


def _spelled(name):
    """How users write an activation: its parameters as -X, -X-Y."""
    return name + "".join("-" + "XY"[i] for i in range(_N_PARAMS[name]))


VALID_ACTIVATIONS = ", ".join(_spelled(name) for name in ACTIVATIONS)
VALID_HIDDEN_ACTIVATIONS = ", ".join(_spelled(name) for name, code in ACTIVATIONS.items()
                                     if code not in ROWWISE_ACTS)

# Default adapt_params (p1, p2) per optimiser code: rho, or Adam's (beta1, beta2).
DEFAULT_ADAPT_PARAMS = {code: defaults for code, (_, defaults, _) in enumerate(_codes.OPTIMIZERS)}
_OPTIMIZER_STATES = {code: states for code, (_, _, states) in enumerate(_codes.OPTIMIZERS)}


def optimizer_code(optimizer):
    """The code of an optimiser given by name or code."""
    if isinstance(optimizer, int) and not isinstance(optimizer, bool):
        if optimizer not in DEFAULT_ADAPT_PARAMS:
            raise ValueError(f"unknown optimizer code {optimizer}; valid: 0..{len(OPTIMIZERS) - 1}")
        return optimizer
    return parse_optimizer(optimizer)


def state_tensors(optimizer, momentum=0.0):
    """The names (from STATE_NAMES) of the state tensors ``optimizer`` (name or code)
    uses with ``momentum``: its accumulators, plus "velocity" when momentum > 0."""
    used = set(_OPTIMIZER_STATES[optimizer_code(optimizer)])
    if momentum > 0:
        used.add("velocity")
    return used


def resolve_adapt_params(optimizer, adapt_params):
    """(p1, p2) for the optimiser (name or code): ``adapt_params`` as a number (p1) or a
    sequence of at most 2 numbers, the missing ones from the optimiser's defaults; None
    or an empty sequence gives the defaults."""
    p1, p2 = DEFAULT_ADAPT_PARAMS[optimizer_code(optimizer)]
    if adapt_params is None:
        return p1, p2
    if isinstance(adapt_params, (int, float)):
        return float(adapt_params), p2
    vals = [float(x) for x in adapt_params]
    if len(vals) > 2:
        raise ValueError(f"adapt_params takes at most 2 values, got {adapt_params!r}")
    merged = vals + [p1, p2][len(vals):]
    return merged[0], merged[1]


class Activation(NamedTuple):
    """An activation as (code, a, b); a and b are its numeric parameters (X, Y)."""
    code: int
    a: float = 0.0
    b: float = 0.0
    name: str = "linear"


def parse_activation(name, hidden=False):
    """Parse e.g. "elu-0.5" into Activation(ACT_ELU, 0.5, 0.0, "elu-0.5").

    hidden=True rejects the row-wise activations (softmax, softmax_logit), which only
    make sense as final activations.
    """
    if isinstance(name, Activation):
        act = name
    else:
        if not isinstance(name, str):
            raise TypeError(f"activation must be a string like 'elu-0.5', got {type(name).__name__}")
        key = name.strip().lower()
        if key in _SIMPLE_ACTS:
            act = Activation(_SIMPLE_ACTS[key], 0.0, 0.0, key)
        else:
            head, *params = key.split("-")
            if head not in _PARAM_ACTS:
                raise ValueError(f"unknown activation '{name}'; valid: {VALID_ACTIVATIONS}")
            code, n_params = _PARAM_ACTS[head]
            if len(params) != n_params:
                raise ValueError(f"activation '{name}' needs {n_params} numeric parameter(s), "
                                 f"e.g. '{head}-" + "-".join(["0.5"] * n_params) + "'")
            try:
                values = [float(p) for p in params]
            except ValueError:
                raise ValueError(f"activation '{name}': parameters must be numbers") from None
            values += [0.0] * (2 - len(values))
            act = Activation(code, values[0], values[1], key)
    if hidden and act.code in ROWWISE_ACTS:
        raise ValueError(f"'{act.name}' is a final activation only; hidden activations: "
                         f"{VALID_HIDDEN_ACTIVATIONS}")
    return act


def parse_loss(name):
    """Parse a loss name ("bpr-max", ...) into its code."""
    key = str(name).strip().lower()
    if key not in LOSSES:
        raise ValueError(f"unknown loss '{name}'; valid: {', '.join(LOSSES)}")
    return LOSSES[key]


def parse_optimizer(name):
    """Parse an optimiser name ("adagrad", ...) into its code."""
    key = str(name).strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{name}'; valid: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key]
