"""The parameter-space file of ``paropt``: one JSON object per line, as in the GRU4Rec
authors' paropt.py::

    {"name": "layers", "dtype": "int", "values": [64, 512], "step": 32}
    {"name": "learning_rate", "dtype": "float", "values": [0.01, 0.25], "step": 0.005}
    {"name": "elu_param", "dtype": "categorical", "values": [0.5, 1, 0]}

``dtype`` is int, float or categorical; int/float take ``values: [low, high]``
(inclusive) and optional ``step`` (int default 1) and ``log`` (default false);
categorical takes the list of choices. Blank lines and lines starting with ``#`` are
skipped. Every name must be a GRU4Rec hyperparameter, and the bounds / choices must be
valid values of it, so a bad file fails before any trial runs.
"""
import json
import math
from dataclasses import dataclass

from gru4rec_fast.model import params as P

DTYPES = ("int", "float", "categorical")
_KEYS = {"name", "dtype", "values", "step", "log"}


class SpaceError(ValueError):
    """A bad parameter-space file (the message names the file and line)."""


@dataclass(frozen=True)
class Parameter:
    """One searched hyperparameter."""
    name: str
    dtype: str
    values: tuple
    step: object = None
    log: bool = False

    def suggest(self, trial):
        """The value an Optuna trial proposes for this parameter."""
        if self.dtype == "int":
            return trial.suggest_int(self.name, int(self.values[0]), int(self.values[1]),
                                     step=self.step, log=self.log)
        if self.dtype == "float":
            return clean_value(trial.suggest_float(self.name, float(self.values[0]),
                                                   float(self.values[1]), step=self.step,
                                                   log=self.log))
        return trial.suggest_categorical(self.name, list(self.values))

    def describe(self):
        if self.dtype == "categorical":
            return f"{self.name:<18} categorical  {list(self.values)}"
        step = "" if self.step is None else f" step {self.step}"
        return (f"{self.name:<18} {self.dtype:<12} [{self.values[0]}, {self.values[1]}]{step}"
                f"{' log scale' if self.log else ''}")

    def as_dict(self):
        d = {"name": self.name, "dtype": self.dtype, "values": list(self.values)}
        if self.step is not None:
            d["step"] = self.step
        if self.log:
            d["log"] = True
        return d


def clean_value(v):
    """A float rounded to 12 significant digits (a stepped suggestion such as
    0.045000000000000005 becomes 0.045); other values unchanged. Trials train with the
    cleaned value, and the outputs show it."""
    if isinstance(v, float) and math.isfinite(v):
        return float(f"{v:.12g}")
    return v


def _number(v, what, where):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SpaceError(f"{where}: {what} must be a finite number, got {v!r}")
    return v


def parse_parameter(obj, where="parameter"):
    """A Parameter from one decoded JSON object; SpaceError names ``where``."""
    if not isinstance(obj, dict):
        raise SpaceError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise SpaceError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: "
                         "name, dtype, values, step, log")
    for key in ("name", "dtype", "values"):
        if key not in obj:
            raise SpaceError(f"{where}: missing {key!r}")
    name, dtype, values = obj["name"], obj["dtype"], obj["values"]
    if name not in P.DEFAULTS and name not in P.ALIASES:
        raise SpaceError(f"{where}: unknown hyperparameter {name!r}; valid: {P.valid_names()}")
    if dtype not in DTYPES:
        raise SpaceError(f"{where}: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if not isinstance(values, list) or not values:
        raise SpaceError(f"{where}: values must be a non-empty list")
    step, log = obj.get("step"), obj.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"{where}: log must be true or false, got {log!r}")
    if dtype == "categorical":
        if step is not None or log:
            raise SpaceError(f"{where}: step and log apply to int/float parameters only")
        if len(set(map(repr, values))) != len(values):
            raise SpaceError(f"{where}: duplicate choices in {values}")
        checked = values
    else:
        if len(values) != 2:
            raise SpaceError(f"{where}: {dtype} values must be [low, high], got {values}")
        low, high = (_number(v, "a bound", where) for v in values)
        if dtype == "int":
            if low != int(low) or high != int(high):
                raise SpaceError(f"{where}: int bounds must be integers, got {values}")
            low, high = int(low), int(high)
            step = 1 if step is None else step
            if isinstance(step, bool) or not isinstance(step, int) or step < 1:
                raise SpaceError(f"{where}: an int step must be a positive integer, got {step!r}")
        elif step is not None and _number(step, "step", where) <= 0:
            raise SpaceError(f"{where}: step must be > 0, got {step!r}")
        if low > high:
            raise SpaceError(f"{where}: low {low} > high {high}")
        stepped = step != 1 if dtype == "int" else step is not None
        if log and (low <= 0 or stepped):
            raise SpaceError(f"{where}: log scale needs low > 0 and no step (Optuna's rule)")
        values = [low, high]
        checked = values
    for v in checked:                  # each bound / choice must be a valid value
        try:
            if name == "elu_param":
                P.elu_param_to_final_act(v)
            else:
                P.convert(name, v)
        except ValueError as e:
            raise SpaceError(f"{where}: {v!r} is not a valid {name}: {e}") from None
    return Parameter(name, dtype, tuple(values), step, log)


def parse_space(lines, source="parameter space"):
    """Parameters of the JSON lines ``lines`` (an iterable of strings)."""
    space, seen = [], set()
    for no, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{source}, line {no}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpaceError(f"{where}: invalid JSON ({e.msg})") from None
        par = parse_parameter(obj, where)
        if par.name in seen:
            raise SpaceError(f"{where}: {par.name!r} is given twice")
        seen.add(par.name)
        space.append(par)
    if not space:
        raise SpaceError(f"{source}: no parameters (expected one JSON object per line)")
    return space


def read_space(path):
    """The parameters of a parameter-space file."""
    try:
        with open(path, encoding="utf-8") as f:
            return parse_space(f, source=str(path))
    except FileNotFoundError:
        raise SpaceError(f"parameter space file {path}: no such file") from None


def suggest(space, trial):
    """{name: value} proposed by an Optuna trial for every parameter of ``space``."""
    return {p.name: p.suggest(trial) for p in space}
