"""GRU4Rec hyperparameters (docs/algorithm.md): names, reference defaults, parsing and
validation.

Values may be given as Python values or as the strings of the reference run.py's
parameter string (``"layers=100/100,loss=bpr-max,constrained_embedding=True"``): lists
are ``/``-separated, booleans ``True/False/1/0``. Every value is checked when it is set;
an unknown name or a bad value raises ``ValueError`` naming the valid ones.
"""
from collections import OrderedDict

from gru4rec_fast.ops import enums

# name -> reference default, in the reference's order.
DEFAULTS = OrderedDict([
    ("loss", "bpr-max"),
    ("final_act", "linear"),
    ("hidden_act", "tanh"),
    ("layers", [100]),
    ("n_epochs", 10),
    ("batch_size", 32),
    ("dropout_p_hidden", 0.0),
    ("dropout_p_embed", 0.0),
    ("learning_rate", 0.1),
    ("momentum", 0.0),
    ("lmbd", 0.0),
    ("embedding", 0),
    ("n_sample", 2048),
    ("sample_alpha", 0.75),
    ("smoothing", 0.0),
    ("constrained_embedding", False),
    ("adapt", "adagrad"),
    ("adapt_params", []),
    ("grad_cap", 0.0),
    ("bpreg", 1.0),
    ("logq", 0.0),
    ("sigma", 0.0),
    ("init_as_normal", False),
    ("train_random_order", False),
    ("time_sort", True),
])

# Aliases accepted for compatibility with the authors' PyTorch port.
ALIASES = ("elu_param",)

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "none", "")


def _bad(name, value, what):
    return ValueError(f"invalid value {value!r} for hyperparameter '{name}': {what}")


def _to_bool(name, v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE + _FALSE:
        return v.strip().lower() in _TRUE
    raise _bad(name, v, "expected True/False (or 1/0)")


def _to_int(name, v, minimum=None):
    if isinstance(v, bool):
        raise _bad(name, v, "expected an integer")
    try:
        if isinstance(v, str):
            f = float(v.strip())
        else:
            f = float(v)
        if f != int(f):
            raise ValueError
        out = int(f)
    except (TypeError, ValueError, OverflowError):
        raise _bad(name, v, "expected an integer") from None
    if minimum is not None and out < minimum:
        raise _bad(name, v, f"must be >= {minimum}")
    return out


def _to_float(name, v, lo=None, hi=None, hi_open=False):
    if isinstance(v, bool):
        raise _bad(name, v, "expected a number")
    try:
        out = float(v.strip() if isinstance(v, str) else v)
    except (TypeError, ValueError):
        raise _bad(name, v, "expected a number") from None
    if out != out:
        raise _bad(name, v, "NaN is not allowed")
    if lo is not None and out < lo:
        raise _bad(name, v, f"must be >= {lo}")
    if hi is not None and (out >= hi if hi_open else out > hi):
        raise _bad(name, v, f"must be {'<' if hi_open else '<='} {hi}")
    return out


def _to_layers(name, v):
    if isinstance(v, str):
        parts = [p for p in v.replace(",", "/").split("/") if p.strip()]
    elif isinstance(v, (int,)) and not isinstance(v, bool):
        parts = [v]
    else:
        try:
            parts = list(v)
        except TypeError:
            raise _bad(name, v, "expected layer sizes like 100 or '100/100' or [100, 100]") from None
    if not parts:
        raise _bad(name, v, "at least one layer is needed")
    return [_to_int(name, p, minimum=1) for p in parts]


def _to_float_list(name, v):
    if v is None:
        return []
    if isinstance(v, str):
        parts = [p for p in v.replace(",", "/").split("/") if p.strip()]
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        parts = [v]
    else:
        parts = list(v)
    if len(parts) > 2:
        raise _bad(name, v, "at most 2 values (rho, or beta1/beta2)")
    return [_to_float(name, p) for p in parts]


def _to_embedding(name, v):
    if isinstance(v, str) and v.strip().lower() == "layersize":
        return "layersize"
    try:
        return _to_int(name, v, minimum=0)
    except ValueError:
        raise _bad(name, v, "expected 0 (none), a size k > 0 or 'layersize'") from None


def _to_adapt(name, v):
    if v is None or v is False or (isinstance(v, str) and v.strip().lower() in ("false", "none", "")):
        return "sgd"
    try:
        enums.parse_optimizer(v)
    except ValueError:
        raise _bad(name, v, f"valid: {', '.join(enums.OPTIMIZERS)} (False = sgd)") from None
    return str(v).strip().lower()


def _to_loss(name, v):
    try:
        enums.parse_loss(v)
    except ValueError:
        raise _bad(name, v, f"valid: {', '.join(enums.LOSSES)}") from None
    return str(v).strip().lower()


def _to_act(name, v, hidden):
    try:
        return enums.parse_activation(v, hidden=hidden).name
    except (ValueError, TypeError) as e:
        raise _bad(name, v, str(e)) from None


_CONVERT = {
    "loss": _to_loss,
    "final_act": lambda n, v: _to_act(n, v, hidden=False),
    "hidden_act": lambda n, v: _to_act(n, v, hidden=True),
    "layers": _to_layers,
    "n_epochs": lambda n, v: _to_int(n, v, minimum=0),
    "batch_size": lambda n, v: _to_int(n, v, minimum=1),
    "dropout_p_hidden": lambda n, v: _to_float(n, v, 0.0, 1.0, hi_open=True),
    "dropout_p_embed": lambda n, v: _to_float(n, v, 0.0, 1.0, hi_open=True),
    "learning_rate": lambda n, v: _to_float(n, v, 0.0),
    "momentum": lambda n, v: _to_float(n, v, 0.0, 1.0, hi_open=True),
    "lmbd": lambda n, v: _to_float(n, v, 0.0),
    "embedding": _to_embedding,
    "n_sample": lambda n, v: _to_int(n, v, minimum=0),
    "sample_alpha": lambda n, v: _to_float(n, v),
    "smoothing": lambda n, v: _to_float(n, v, 0.0, 1.0, hi_open=True),
    "constrained_embedding": _to_bool,
    "adapt": _to_adapt,
    "adapt_params": _to_float_list,
    "grad_cap": lambda n, v: _to_float(n, v, 0.0),
    "bpreg": lambda n, v: _to_float(n, v, 0.0),
    "logq": lambda n, v: _to_float(n, v, 0.0),
    "sigma": lambda n, v: _to_float(n, v, 0.0),
    "init_as_normal": _to_bool,
    "train_random_order": _to_bool,
    "time_sort": _to_bool,
}


def valid_names():
    return ", ".join(list(DEFAULTS) + list(ALIASES))


def convert(name, value):
    """The checked, typed value of one hyperparameter (strings are parsed)."""
    if name not in _CONVERT:
        raise ValueError(f"unknown hyperparameter '{name}'; valid: {valid_names()}")
    return _CONVERT[name](name, value)


def elu_param_to_final_act(value):
    """The authors' PyTorch port's ``elu_param=X``: final_act elu-X, 0 meaning linear."""
    x = _to_float("elu_param", value, 0.0)
    return "linear" if x == 0 else enums.parse_activation(f"elu-{x:g}").name


def parse_param_string(s):
    """``"a=1,b=x/y"`` -> OrderedDict of raw string values (not yet converted)."""
    out = OrderedDict()
    if s is None:
        return out
    for part in str(s).split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"bad parameter string element {part!r}: expected name=value "
                             f"(e.g. 'loss=bpr-max,layers=100'); valid names: {valid_names()}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


# adadelta adapts its own step size; the original implementation trains it with
# learning_rate 1.0 whatever was set (docs/algorithm.md, Optimisers).
ADADELTA_LEARNING_RATE = 1.0


def effective_learning_rate(p):
    """The learning rate training uses: learning_rate, or 1.0 for adadelta."""
    return ADADELTA_LEARNING_RATE if p["adapt"] == "adadelta" else p["learning_rate"]


def check_combination(p):
    """Checks across hyperparameters; returns a list of warnings (strings)."""
    warnings = []
    loss, fa = p["loss"], p["final_act"]
    if loss == "cross-entropy" and fa != "softmax":
        warnings.append(f"loss cross-entropy is meant for final_act softmax (got {fa})")
    if loss == "xe_logit" and fa != "softmax_logit":
        warnings.append(f"loss xe_logit is meant for final_act softmax_logit (got {fa})")
    if fa in ("softmax", "softmax_logit") and loss not in ("cross-entropy", "xe_logit"):
        warnings.append(f"final_act {fa} is meant for cross-entropy / xe_logit (got {loss})")
    if p["constrained_embedding"] and p["embedding"] not in (0,):
        warnings.append("constrained_embedding=True overrides embedding (the output matrix is the input embedding)")
    # the default rate is not the user's choice: no warning for it
    if p["adapt"] == "adadelta" and p["learning_rate"] not in (DEFAULTS["learning_rate"],
                                                               ADADELTA_LEARNING_RATE):
        warnings.append(f"adapt=adadelta trains with learning_rate {ADADELTA_LEARNING_RATE}, as the "
                        f"original does; learning_rate={p['learning_rate']} is ignored")
    return warnings
