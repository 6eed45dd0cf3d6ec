"""The regularisation check (CS231n's reg): the loss and the gradients must agree on the
L2 penalty, whichever convention and parameters the course penalises; each way of
disagreeing is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck import InProcessStudent, RunOptions, get_plugin_manager
from bpcheck._options import CourseSettings, with_adapter
from bpcheck._running import collect_checks, plan, run_plan
from bpcheck.adapters import AdapterRequest

#: A TwoLayerNet whose loss adds LOSS_W·reg·‖W‖² + LOSS_B·reg·‖b‖² and whose
#: gradients add GRAD_W·reg·W and GRAD_B·reg·b.
TEMPLATE = '''
import numpy as np

class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, reg=0.0):
        self.reg, self.params = reg, {}

    def loss(self, X, y=None):
        p, reg = self.params, self.reg
        h = np.maximum(0, X @ p["W1"] + p["b1"])
        scores = h @ p["W2"] + p["b2"]
        if y is None:
            return scores
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        N = len(y)
        loss = -np.log(probs[np.arange(N), y]).mean()
        loss += reg * sum(LOSS_W * np.sum(p[k] ** 2) for k in ("W1", "W2"))
        loss += reg * sum(LOSS_B * np.sum(p[k] ** 2) for k in ("b1", "b2"))
        d = probs.copy()
        d[np.arange(N), y] -= 1
        d /= N
        dh = d @ p["W2"].T * (h > 0)
        grads = {"W2": h.T @ d, "b2": d.sum(axis=0), "W1": X.T @ dh, "b1": dh.sum(axis=0)}
        for k in grads:
            grads[k] = grads[k] + (GRAD_W if k[0] == "W" else GRAD_B) * reg * p[k]
        return loss, grads
'''


def regularisation_result(tmp_path: Path, loss: tuple[float, float], grads: tuple[float, float]):  # type: ignore[no-untyped-def]
    source = TEMPLATE.replace("LOSS_W", str(loss[0])).replace("LOSS_B", str(loss[1]))
    module = tmp_path / "fc_net.py"
    module.write_text(source.replace("GRAD_W", str(grads[0])).replace("GRAD_B", str(grads[1])))
    manager = get_plugin_manager()
    options = with_adapter(
        RunOptions(profile="grade", seed=0, max_examples=5), str(module), CourseSettings(AdapterRequest()), manager
    )
    [planned] = [p for p in plan(collect_checks(manager), options) if p.check.id == "regularisation"]
    [result] = run_plan([planned], InProcessStudent(str(module), manager, options.adapter), options)
    return result


@pytest.mark.parametrize(
    ("loss", "grads"),
    [
        ((0.5, 0.0), (1.0, 0.0)),  # CS231n: ½·reg·‖W‖², the weights only
        ((1.0, 0.0), (2.0, 0.0)),  # reg·‖W‖² (assignment 1's older neural_net.py)
        ((0.5, 0.5), (1.0, 1.0)),  # the weights and the biases
    ],
)
def test_a_penalty_and_its_derivative_pass_in_any_convention(
    tmp_path: Path, loss: tuple[float, float], grads: tuple[float, float]
) -> None:
    result = regularisation_result(tmp_path, loss, grads)
    assert (result.status, result.message) == ("passed", "")


#: (loss's coefficients, gradients' coefficients, the mistake named, words of the message)
DISAGREEMENTS = [
    ((0.5, 0.0), (0.0, 0.0), "regularisation_gradient_missing", "change by nothing"),
    ((0.5, 0.0), (2.0, 0.0), "regularisation_gradient_doubled", "change by 2 × that"),
    ((0.5, 0.0), (1.0, 1.0), "regularisation_gradient_unmatched", "adds nothing for the biases"),
    ((0.5, 0.5), (1.0, 0.0), "regularisation_gradient_missing", "0.5·reg·‖b‖² for the biases"),
    ((0.0, 0.0), (1.0, 0.0), "regularisation_gradient_unmatched", "adds nothing for the weights"),
    ((0.0, 0.0), (0.0, 0.0), None, "neither your loss nor your gradients change"),
]


@pytest.mark.parametrize(("loss", "grads", "mistake", "words"), DISAGREEMENTS)
def test_each_disagreement_between_the_penalty_and_the_gradients_is_caught_and_named(
    tmp_path: Path, loss: tuple[float, float], grads: tuple[float, float], mistake: str | None, words: str
) -> None:
    result = regularisation_result(tmp_path, loss, grads)
    assert result.status == "failed" and words in result.message
    assert [d["mistake"] for d in result.diagnoses if d["mistake"]] == ([mistake] if mistake else [])
    assert result.counterexample is not None
    biases = [b for name, values in result.counterexample["arrays"].items()
              if name.startswith("params['b") for b in values]
    assert biases and all(abs(b) >= 0.25 for b in biases)


#: Functions (batch-first, W of shape (in, out), flat biases, class indices)
#: whose backward takes reg and returns (loss, grads): only a table describes them.
FUNCTIONS = '''
import numpy as np

def scores(params, X):
    h = np.maximum(0, X @ params["W1"] + params["b1"])
    return h @ params["W2"] + params["b2"]

def loss_and_grads(params, X, y, reg):
    h = np.maximum(0, X @ params["W1"] + params["b1"])
    s = h @ params["W2"] + params["b2"]
    e = np.exp(s - s.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    N = len(y)
    loss = -np.log(probs[np.arange(N), y]).mean() + 0.5 * reg * sum(np.sum(params[k] ** 2) for k in ("W1", "W2"))
    d = probs.copy()
    d[np.arange(N), y] -= 1
    d /= N
    dh = d @ params["W2"].T * (h > 0)
    grads = {"W2": h.T @ d, "b2": d.sum(axis=0), "W1": X.T @ dh, "b1": dh.sum(axis=0)}
    for k in ("W1", "W2"):
        grads[k] = grads[k] + GRAD_W * reg * params[k]
    return loss, grads
'''
TABLE = {
    "forward": "scores", "forward_args": ["params", "X"], "forward_returns": ["logits"],
    "backward": "loss_and_grads", "backward_args": ["params", "X", "Y", "reg"],
    "backward_returns": ["loss", "grads"], "layout": "batch_by_features", "weights": "in_out",
    "bias": "flat", "labels": "indices", "output": "logits",
    "gradient_weight_key": "W{layer}", "gradient_bias_key": "b{layer}",
}


def declarative_result(tmp_path: Path, source: str, table: dict[str, object] = TABLE):  # type: ignore[no-untyped-def]
    """The regularisation result of ``source``, described by ``table``."""
    module = tmp_path / "net.py"
    module.write_text(source)
    manager = get_plugin_manager()
    settings = CourseSettings(
        AdapterRequest("declarative", table, "bpcheck.toml [adapter]"), {"depth": 2}, "bpcheck.toml [scope]"
    )
    run = RunOptions(profile="grade", seed=0, max_examples=5, hidden_activations=("relu",), losses=("cce",))
    options = with_adapter(run, str(module), settings, manager)
    assert options.assignment.regularised
    [planned] = [p for p in plan(collect_checks(manager), options) if p.check.id == "regularisation"]
    [result] = run_plan([planned], InProcessStudent(str(module), manager, options.adapter), options)
    return result


@pytest.mark.parametrize(("factor", "mistake"), [(1.0, None), (0.0, "regularisation_gradient_missing")])
def test_a_table_that_passes_reg_to_backward_brings_the_check_into_scope(
    tmp_path: Path, factor: float, mistake: str | None
) -> None:
    result = declarative_result(tmp_path, FUNCTIONS.replace("GRAD_W", str(factor)))
    assert result.status == ("passed" if mistake is None else "failed"), result.message
    assert [d["mistake"] for d in result.diagnoses if d["mistake"]] == ([mistake] if mistake else [])


#: :data:`FUNCTIONS` for a network without biases.
NO_BIASES = (
    FUNCTIONS.replace(' + params["b1"]', "").replace(' + params["b2"]', "")
    .replace(', "b2": d.sum(axis=0)', "").replace(', "b1": dh.sum(axis=0)', "")
)


@pytest.mark.parametrize(("factor", "mistake"), [(1.0, None), (0.0, "regularisation_gradient_missing"), (2.0, "regularisation_gradient_doubled")])
def test_without_biases_the_check_judges_the_weights_alone(tmp_path: Path, factor: float, mistake: str | None) -> None:
    assert "b1" not in NO_BIASES
    result = declarative_result(tmp_path, NO_BIASES.replace("GRAD_W", str(factor)), {**TABLE, "bias": "absent"})
    assert result.status == ("passed" if mistake is None else "failed"), result.message
    assert [d["mistake"] for d in result.diagnoses if d["mistake"]] == ([mistake] if mistake else [])
    assert "biases" not in result.message


def test_gradients_that_break_the_contract_only_with_reg_fail_this_check_saying_so(tmp_path: Path) -> None:
    broken = FUNCTIONS.replace("GRAD_W", "1.0").replace(
        "    return loss, grads", '    return loss, {k: v.tolist() if reg else v for k, v in grads.items()}'
    )
    result = declarative_result(tmp_path, broken)
    assert result.status == "failed"
    assert "with an L2 strength reg" in result.message and "break the contract" in result.message
    assert "gradient_shapes" not in result.message  # which judged the call without reg


def test_a_table_that_takes_reg_returns_the_loss_and_has_a_model_for_an_attribute() -> None:
    from bpcheck._errors import ConfigError
    from bpcheck.adapters.declarative import settings_of

    with pytest.raises(ConfigError, match="naming loss as well"):
        settings_of({**TABLE, "backward_returns": ["grads"]}, "bpcheck.toml [adapter]")
    with pytest.raises(ConfigError, match="adapter.reg_attribute .*reg passed by backward_args when there is no model"):
        settings_of({**TABLE, "reg_attribute": "reg"}, "bpcheck.toml [adapter]")
    stepped = {"model": "Net", "forward": "predict", "forward_returns": ["AL"], "step": "train",
               "reg_attribute": "reg", "backward_returns": ["grads", "loss"]}
    with pytest.raises(ConfigError, match="adapter.backward .*a backward returning the loss and gradients"):
        settings_of(stepped, "bpcheck.toml [adapter]")
