"""The ``declarative`` adapter: any course's API, described in configuration.

An instructor writes a ``[tool.bpcheck.adapter]`` table (or ``[adapter]`` in
``bpcheck.toml``) instead of wrapper code; every key but ``forward`` is
optional (see ``docs/adapters/declarative.md``)::

    [tool.bpcheck.adapter]
    model = "MLP"                    # a class, built as MLP(sizes), then its parameters overwritten
    forward = "forward"              # a function, or with model a method
    forward_args = ["X"]             # from X, params, activations
    forward_returns = ["logits"]     # from AL, logits, cache, _
    backward = "backward"            # or step = "train_step": an in-place update, read back
    backward_args = ["Y"]            # from X, Y, params, cache, AL, activations, loss
    backward_returns = ["grads"]     # from grads, loss, weight_gradients, bias_gradients, _
    layout = "batch_by_features"     # or features_by_batch
    weights = "in_out"               # or out_in
    bias = "flat"                    # column (out, 1), row (1, out), flat (out,), augmented, absent
    labels = "indices"               # or one_hot
    reduction = "sum"                # or mean
    scale = 0.5                      # the course's loss is scale × the lesson's (½ in squared error)
    reg_attribute = "reg"            # an L2 strength: a model attribute, or "reg" in construct or backward_args

Where the API takes an L2 strength, its backward must return the loss too
(``backward_returns`` naming ``loss``), and the ``regularisation`` check is in
scope.

Default scope: the functional contract's, with hard labels and no mse when
labels are class indices, and networks without biases for ``bias = "absent"``. It is chosen whenever the configuration has the
table; naming it without one is a configuration error.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from bpcheck._errors import ConfigError
from bpcheck._hookimpl import hookimpl
from bpcheck._sandbox.adapters.declarative import regularises
from bpcheck._scope import Scope
from bpcheck.adapters._adapter import Adapter, AdapterRequest, StudentSource, Vocabulary

NAME = "declarative"

_CHOICES = {
    "parameters": ("dict", "lists"),
    "output": ("probabilities", "logits"),
    "layout": ("features_by_batch", "batch_by_features"),
    "weights": ("out_in", "in_out"),
    "bias": ("column", "row", "flat", "augmented", "absent"),
    "labels": ("one_hot", "indices"),
    "reduction": ("mean", "sum"),
}
_LISTS = {
    "construct": ("sizes", "reg"),
    "forward_args": ("X", "params", "activations"),
    "forward_returns": ("AL", "logits", "cache", "_"),
    "backward_args": ("X", "Y", "params", "cache", "AL", "activations", "loss", "reg"),
    "backward_returns": ("grads", "loss", "weight_gradients", "bias_gradients", "_"),
    "step_args": ("X", "Y", "params", "learning_rate", "mini_batch"),
    "loss_args": ("AL", "Y"),
}
_NAMES = (
    "forward", "backward", "step", "loss", "model", "output_attribute",
    "parameters_attribute", "weights_attribute", "biases_attribute", "reg_attribute",
)
_TEMPLATES = ("weight_key", "bias_key", "gradient_weight_key", "gradient_bias_key")
_NUMBERS = ("learning_rate", "scale")
KEYS = tuple(_CHOICES) + tuple(_LISTS) + _NAMES + _TEMPLATES + _NUMBERS

_DEFAULTS: dict[str, Any] = {
    "parameters": "dict", "output": "probabilities", "layout": "features_by_batch",
    "weights": "out_in", "bias": "column", "labels": "one_hot", "reduction": "mean",
    "forward_returns": ["AL", "cache"], "backward_returns": ["grads"],
    "step_args": ["X", "Y", "learning_rate"], "loss_args": ["AL", "Y"],
    "parameters_attribute": "params", "weights_attribute": "weights", "biases_attribute": "biases",
    "weight_key": "W{layer}", "bias_key": "b{layer}",
    "gradient_weight_key": "dW{layer}", "gradient_bias_key": "db{layer}",
    "learning_rate": 1.0, "scale": 1.0,
}


def _error(key: str, source: str, expected: str, got: Any) -> ConfigError:
    return ConfigError(f"adapter.{key}", source, expected, got)


def _value(key: str, value: Any, source: str) -> Any:
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise _error(key, source, " or ".join(_CHOICES[key]), value)
        return value
    if key in _LISTS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(item in _LISTS[key] for item in items):
            raise _error(key, source, f"a list of names from {', '.join(_LISTS[key])}", value)
        return items
    if key in _NUMBERS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise _error(key, source, "a number > 0", value)
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise _error(key, source, "a name (a non-empty string)", value)
    if key in _TEMPLATES and "{layer}" not in value and "{index}" not in value:
        raise _error(key, source, "a name with {layer} (1-based) or {index} (0-based) in it", value)
    return value


def settings_of(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The table validated, with every default filled in; a ConfigError names
    the first unknown key or bad value, the file, what was expected and what arrived."""
    settings = dict(_DEFAULTS)
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean 'adapter.{close[0]}'? " if close else ""
            raise _error(key, source, f"a known key ({hint}known: {', '.join(sorted(KEYS))})", key)
        settings[key] = _value(key, value, source)
    if "forward" not in table:
        raise _error("forward", source, "the name of the function (or method) that computes ŷ", None)
    if "backward" not in table and "step" not in table:
        raise _error("backward", source, "backward, or step for an in-place update", None)
    methods = "model" in table
    settings.setdefault("construct", ["sizes"] if methods else [])
    settings.setdefault("forward_args", ["X"] if methods else ["params", "X", "activations"])
    settings.setdefault(
        "backward_args", ["X", "Y"] if methods else ["params", "cache", "Y", "activations", "loss"]
    )
    if "grads" not in settings["backward_returns"] and "weight_gradients" not in settings["backward_returns"]:
        raise _error("backward_returns", source, "a list naming grads, or weight_gradients", table["backward_returns"])
    for key, named in (("reg_attribute", settings.get("reg_attribute")), ("construct", "reg" in settings["construct"])):
        if named and not methods:
            raise _error(key, source, "reg passed by backward_args when there is no model", table.get(key))
    if regularises(settings) and "backward" not in table:
        raise _error(
            "backward", source,
            "a backward returning the loss and gradients, since the API takes reg (an in-place "
            "step cannot show the penalty's gradient apart from the loss's)",
            None,
        )
    if regularises(settings) and "loss" not in settings["backward_returns"]:
        raise _error(
            "backward_returns", source,
            "a list naming loss as well, since the API takes reg (the regularisation check compares "
            "the loss's penalty with the gradients')",
            settings["backward_returns"],
        )
    if settings["bias"] == "augmented" and settings["parameters"] != "dict":
        raise _error("bias", source, "augmented only with parameters = \"dict\"", settings["bias"])
    return settings


def _scope(settings: Mapping[str, Any]) -> Scope:
    common = {"regularised": regularises(settings), "biases": settings["bias"] != "absent"}
    if settings["labels"] == "indices":
        return Scope(losses=("bce", "cce"), hard_labels=True, **common)
    return Scope(**common)


def _vocabulary(settings: Mapping[str, Any], source: str) -> Vocabulary:
    functions = {"forward": str(settings["forward"]), "backward": str(settings.get("backward") or settings["step"])}
    if "model" in settings:
        functions = {name: f"{settings['model']}.{method}" for name, method in functions.items()}
    if settings.get("loss"):
        functions["compute_loss"] = str(settings["loss"])
    return Vocabulary(
        gradients={"W": settings["gradient_weight_key"], "b": settings["gradient_bias_key"]},
        parameters={"W": settings["weight_key"], "b": settings["bias_key"]},
        functions=functions,
        batch_first=settings["layout"] == "batch_by_features",
        weights_in_out=settings["weights"] == "in_out",
        bias=settings["bias"] if settings["bias"] in ("row", "flat") else "column",
        class_indices=settings["labels"] == "indices",
        starter=f"the course's starter code, with the names and layout the adapter table in {source} gives",
    )


@hookimpl(tryfirst=True)
def bpcheck_adapter(
    student: StudentSource, request: AdapterRequest, declined: list[str]
) -> Adapter | None:
    if request.name not in (NAME, "auto"):
        return None
    if request.table is None:
        if request.name == NAME:
            raise ConfigError(
                "adapter", request.source, "a [tool.bpcheck.adapter] table for the declarative adapter", NAME
            )
        declined.append(f"{NAME} looked for a [tool.bpcheck.adapter] table in the configuration")
        return None
    settings = settings_of(request.table, request.source)
    return Adapter(
        NAME, NAME, _scope(settings), _vocabulary(settings, request.source), settings,
        f"the table in {request.source}", biases=(settings["bias"] != "absent",),
    )
