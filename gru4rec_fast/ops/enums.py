"""Parsing of activation, loss and optimiser names into the integer codes of
csrc/common/enums.h (keep the two in step).

Names follow the spec: "linear", "relu", "tanh", "leaky-X", "elu-X", "selu-X-Y",
"softmax", "softmax_logit"; losses "cross-entropy", "xe_logit", "bpr", "bpr-max",
"top1", "top1-max"; optimisers "sgd", "adagrad", "rmsprop", "adam", "adadelta".
"""
from typing import NamedTuple

ACT_LINEAR, ACT_RELU, ACT_TANH, ACT_LEAKY, ACT_ELU, ACT_SELU, ACT_SOFTMAX, ACT_SOFTMAX_LOGIT = range(8)
(LOSS_CROSS_ENTROPY, LOSS_XE_LOGIT, LOSS_BPR, LOSS_BPR_MAX, LOSS_TOP1, LOSS_TOP1_MAX) = range(6)
OPT_SGD, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM, OPT_ADADELTA = range(5)

_SIMPLE_ACTS = {"linear": ACT_LINEAR, "relu": ACT_RELU, "tanh": ACT_TANH,
                "softmax": ACT_SOFTMAX, "softmax_logit": ACT_SOFTMAX_LOGIT}
_PARAM_ACTS = {"leaky": (ACT_LEAKY, 1), "elu": (ACT_ELU, 1), "selu": (ACT_SELU, 2)}
LOSSES = {"cross-entropy": LOSS_CROSS_ENTROPY, "xe_logit": LOSS_XE_LOGIT, "bpr": LOSS_BPR,
          "bpr-max": LOSS_BPR_MAX, "top1": LOSS_TOP1, "top1-max": LOSS_TOP1_MAX}
OPTIMIZERS = {"sgd": OPT_SGD, "adagrad": OPT_ADAGRAD, "rmsprop": OPT_RMSPROP,
              "adam": OPT_ADAM, "adadelta": OPT_ADADELTA}
ROWWISE_ACTS = (ACT_SOFTMAX, ACT_SOFTMAX_LOGIT)
VALID_ACTIVATIONS = "linear, relu, tanh, leaky-X, elu-X, selu-X-Y, softmax, softmax_logit"


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
                         "linear, relu, tanh, leaky-X, elu-X, selu-X-Y")
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
