"""One source for the code tables: csrc/common/code_tables.h, returned by the extension's
code_tables(), and gru4rec_fast/ops/_codes.py generated from it (scripts/gen_codes.py)
must agree; the C++ range checks follow the tables' counts; the Python tables built on
them (optimiser states, weight names) follow them too."""
import importlib.util
import os

import pytest
import torch

from gru4rec_fast import _ext
from gru4rec_fast.model import network, optim_state
from gru4rec_fast.model.params import DEFAULTS
from gru4rec_fast.ops import _codes, enums
from gru4rec_fast.ops.sparse_row_update import SparseRowState

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _gen_codes():
    spec = importlib.util.spec_from_file_location(
        "gen_codes", os.path.join(ROOT, "scripts", "gen_codes.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_file_matches_the_extension():
    gen = _gen_codes()
    tables = _ext.ext().code_tables()
    assert gen.differences(tables, gen.tables_of_module(_codes)) == []
    with open(gen.TARGET) as f:
        assert f.read() == gen.render(tables), "rerun scripts/gen_codes.py"
    assert gen.main(["--check"]) == 0


def test_a_changed_table_is_reported():
    """The comparison above can fail: one changed entry names its table."""
    gen = _gen_codes()
    tables = dict(_ext.ext().code_tables())
    losses = list(tables["losses"])
    losses[0], losses[1] = losses[1], losses[0]
    assert gen.differences({**tables, "losses": losses}, gen.tables_of_module(_codes)) == ["losses"]
    opts = [list(o) for o in tables["optimizers"]]
    opts[enums.OPT_ADAM][1] = (0.9, 0.99)          # another default beta2
    assert gen.differences({**tables, "optimizers": opts}, tables) == ["optimizers"]
    assert gen.render({**tables, "rank_modes": ["standard"]}) != gen.render(tables)
    with pytest.raises(ValueError, match="missing \\['losses'\\]"):
        gen.render({k: v for k, v in tables.items() if k != "losses"})


def _scores(n=3):
    return torch.randn(2, n, dtype=torch.float64), torch.empty(0, dtype=torch.float64)


def test_loss_and_activation_range_checks_follow_the_counts():
    C = _ext.ops()
    s, off = _scores()
    last_loss, last_act = len(enums.LOSSES) - 1, enums.ACT_SOFTMAX_LOGIT
    C.fused_loss_fwd_bwd(s, off, last_loss, enums.ACT_LINEAR, 0.0, 0.0, 0.0, 0.0, 1.0)
    C.fused_loss_fwd_bwd(s, off, enums.LOSS_CROSS_ENTROPY, last_act, 0.0, 0.0, 0.0, 0.0, 1.0)
    with pytest.raises(RuntimeError, match=f"unknown loss code {len(enums.LOSSES)} \\(valid: 0 "
                                           f"cross-entropy, .*, {last_loss} top1-max\\)"):
        C.fused_loss_fwd_bwd(s, off, len(enums.LOSSES), 0, 0.0, 0.0, 0.0, 0.0, 1.0)
    with pytest.raises(RuntimeError, match=f"unknown final activation code {len(enums.ACTIVATIONS)} "
                                           "\\(valid: 0 linear, .*softmax_logit\\)"):
        C.fused_loss_fwd_bwd(s, off, 0, len(enums.ACTIVATIONS), 0.0, 0.0, 0.0, 0.0, 1.0)
    with pytest.raises(RuntimeError, match="unknown loss code -1"):
        C.fused_loss_fwd_bwd(s, off, -1, 0, 0.0, 0.0, 0.0, 0.0, 1.0)


def test_hidden_activation_check_follows_the_count():
    C = _ext.ops()
    d, B = 3, 2
    args = (torch.randn(B, 3 * d), torch.randn(B, d), torch.randn(d, 2 * d), torch.randn(d, d),
            torch.empty(0, dtype=torch.bool), torch.empty(0))
    C.gru_step_forward(*args, _codes.N_HIDDEN_ACTIVATIONS - 1, 1.0, 1.0)   # selu-1-1
    with pytest.raises(RuntimeError, match="not a hidden-layer activation \\(valid: 0 linear, "
                                           ".*5 selu;"):
        C.gru_step_forward(*args, _codes.N_HIDDEN_ACTIVATIONS, 0.0, 0.0)


def test_optimizer_check_follows_the_count():
    p = torch.zeros(4, 2)
    st = SparseRowState(p, "adagrad")
    C = _ext.ops()
    ids, g = torch.tensor([1]), torch.ones(1, 2)
    with pytest.raises(RuntimeError, match=f"unknown optimizer code {len(enums.OPTIMIZERS)} "
                                           "\\(valid: 0 sgd, .*4 adadelta\\)"):
        C.sparse_row_update_(p, ids, g, *st.tensors(), len(enums.OPTIMIZERS), 0.1, 0.0, 0.0,
                             1e-6, 0.0, 0.0, True)


@pytest.mark.parametrize("opt", list(enums.OPTIMIZERS))
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_state_tensors_follow_the_optimizer_table(opt, momentum):
    used = enums.state_tensors(opt, momentum)
    assert used <= set(enums.STATE_NAMES)
    assert ("velocity" in used) == (momentum > 0)
    st = SparseRowState(torch.zeros(5, 3), opt, momentum)
    allocated = dict(zip(("s1", "s2", "velocity", "steps"),
                         (st.state1, st.state2, st.velocity, st.step_count)))
    assert {k for k, t in allocated.items() if t.numel()} == used
    model_state = optim_state.new_state({"Wy": torch.zeros(5, 3)}, opt, momentum)["Wy"]
    assert tuple(model_state) == enums.STATE_NAMES
    assert {k for k, t in model_state.items() if t.numel()} == used


def test_adapt_params_defaults_and_merging():
    assert enums.resolve_adapt_params("adam", None) == (0.9, 0.999)
    assert enums.resolve_adapt_params(enums.OPT_ADAM, [0.8]) == (0.8, 0.999)
    assert enums.resolve_adapt_params("rmsprop", 0.5) == (0.5, 0.0)
    assert enums.resolve_adapt_params("adadelta", []) == (0.95, 0.0)
    with pytest.raises(ValueError, match="at most 2 values"):
        enums.resolve_adapt_params("adam", [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        enums.resolve_adapt_params("lbfgs", None)
    with pytest.raises(ValueError, match="unknown optimizer code 9"):
        enums.resolve_adapt_params(9, None)


@pytest.mark.parametrize("hyper", [dict(constrained_embedding=True),
                                   dict(constrained_embedding=False, embedding=4),
                                   dict(constrained_embedding=False, embedding=0)],
                         ids=["shared", "separate", "none"])
def test_weight_names_come_from_the_tables(hyper):
    p = {**DEFAULTS, **hyper, "layers": [6, 5]}
    assert network.embedding_mode(p) in enums.EMBEDDING_MODES
    layer_names = {f"{base}.{l}" for base in enums.LAYER_WEIGHTS for l in range(2)}
    names = set(network.expected_shapes(p, 10))
    assert names <= set(enums.ITEM_TABLES) | layer_names
    assert {"Wy", "By"} <= names
    assert set(network.dense_names(dict.fromkeys(names))) == names - set(enums.ITEM_TABLES)
