"""Parsing of activation / loss / optimiser names into the kernels' integer codes."""
import pytest

from gru4rec_fast.ops import enums


@pytest.mark.parametrize("name,expected", [
    ("linear", (enums.ACT_LINEAR, 0.0, 0.0)),
    ("tanh", (enums.ACT_TANH, 0.0, 0.0)),
    ("relu", (enums.ACT_RELU, 0.0, 0.0)),
    ("softmax", (enums.ACT_SOFTMAX, 0.0, 0.0)),
    ("softmax_logit", (enums.ACT_SOFTMAX_LOGIT, 0.0, 0.0)),
    ("elu-0.5", (enums.ACT_ELU, 0.5, 0.0)),
    ("leaky-0.01", (enums.ACT_LEAKY, 0.01, 0.0)),
    ("selu-1.0507-1.6733", (enums.ACT_SELU, 1.0507, 1.6733)),
    (" ELU-1 ", (enums.ACT_ELU, 1.0, 0.0)),
])
def test_parse_activation(name, expected):
    act = enums.parse_activation(name)
    assert (act.code, act.a, act.b) == expected


@pytest.mark.parametrize("name,message", [
    ("sigmoidal", "unknown activation 'sigmoidal'; valid: linear"),
    ("elu", "needs 1 numeric parameter"),
    ("selu-1", "needs 2 numeric parameter"),
    ("elu-abc", "parameters must be numbers"),
])
def test_parse_activation_errors(name, message):
    with pytest.raises(ValueError, match=message):
        enums.parse_activation(name)


def test_parse_activation_type_error():
    with pytest.raises(TypeError, match="activation must be a string"):
        enums.parse_activation(0.5)


def test_hidden_activation_rejects_rowwise():
    with pytest.raises(ValueError, match="final activation only"):
        enums.parse_activation("softmax", hidden=True)
    assert enums.parse_activation("tanh", hidden=True).code == enums.ACT_TANH


def test_parse_loss_and_optimizer():
    assert enums.parse_loss("bpr-max") == enums.LOSS_BPR_MAX
    assert enums.parse_loss("Cross-Entropy") == enums.LOSS_CROSS_ENTROPY
    assert enums.parse_optimizer("adagrad") == enums.OPT_ADAGRAD
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: cross-entropy"):
        enums.parse_loss("hinge")
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; valid: sgd"):
        enums.parse_optimizer("lbfgs")


def test_codes_match_the_cpp_header():
    """The Python codes must equal csrc/common/enums.h's, or every op misreads them. The
    Python codes are the positions of the names in the tables of code_tables.h (through
    the generated _codes.py), so this also holds those tables to the enums' order."""
    import pathlib
    import re
    header = (pathlib.Path(__file__).resolve().parents[2] / "csrc" / "common" / "enums.h").read_text()
    cpp = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b([A-Z][A-Z0-9_]+) = (\d+)", header)}
    for name, value in cpp.items():
        assert getattr(enums, name) == value, name
    assert len(cpp) == 8 + 6 + 5 + 3
