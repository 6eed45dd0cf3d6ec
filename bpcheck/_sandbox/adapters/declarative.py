"""The declarative adapter: a course's API described by settings, not code.

The grader validates the ``[tool.bpcheck.adapter]`` table
(``bpcheck.adapters.declarative``) and hands it here as plain data: the
names of the functions (or, with ``model``, methods) and their arguments and
results; where the parameters live; the layout (batch-first or not, W as
(in, out) or (out, in), the bias shape, class indices or one-hot labels);
the loss convention (sum or mean, a scale such as ½); ``bias = "absent"`` for
networks without biases (the course's code then gets only the weights, and
owes only their gradients); whether ŷ comes back
as logits; ``step``, a training step that updates the parameters in
place, whose gradient is read back as (before − after) / η; and where the
API takes an L2 strength ``reg`` (a constructor or backward argument, or a
model attribute), which is 0 except in the ``regularised`` call.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from ..calls import Array
from ..execute import StudentFunctions
from ._common import (
    Adapted,
    callable_of,
    class_indices,
    course_bias,
    course_weight,
    depth_of,
    lesson_gradient,
    output_of,
    widths_of,
)


class _Course:
    """The settings, and the conversions between the lesson's arrays and the course's."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.s = settings
        self.batch_first = settings["layout"] == "batch_by_features"
        self.in_out = settings["weights"] == "in_out"
        self.bias = settings["bias"]

    def key(self, kind: str, layer: int, gradient: bool = False) -> str:
        template = self.s[f"{'gradient_' if gradient else ''}{'weight' if kind == 'W' else 'bias'}_key"]
        return str(template).format(layer=layer, index=layer - 1)

    def parameters(self, params: Mapping[str, Array], copy: bool) -> tuple[list[Array], list[Array | None]]:
        """Each layer's W and b in the course's layout (views unless ``copy``);
        None for b when it is in W (augmented) or absent."""
        weights: list[Array] = []
        biases: list[Array | None] = []
        for layer in range(1, depth_of(params) + 1):
            W, b = params[f"W{layer}"], params.get(f"b{layer}")
            if b is None:  # the network has no biases
                weights.append(course_weight(W, self.in_out))
                biases.append(None)
            elif self.bias == "augmented":
                weights.append(course_weight(np.hstack([W, b]), self.in_out))
                biases.append(None)
            else:
                weights.append(course_weight(W, self.in_out))
                biases.append(course_bias(b, self.bias))
        if copy:
            weights = [np.array(w) for w in weights]
            biases = [None if b is None else np.array(b) for b in biases]
        return weights, biases

    def as_dict(self, weights: list[Array], biases: list[Array | None]) -> dict[str, Array]:
        held = {self.key("W", layer): w for layer, w in enumerate(weights, start=1)}
        held |= {self.key("b", layer): b for layer, b in enumerate(biases, start=1) if b is not None}
        return held

    def held(self, weights: list[Array], biases: list[Array | None]) -> Any:
        """What holds the parameters for the course's code: a dict by the key
        templates, or the lists (weights, biases), or the weights alone when
        the network has no biases."""
        if self.s["parameters"] == "dict":
            return self.as_dict(weights, biases)
        return weights if self.bias == "absent" else (weights, biases)

    def X(self, X: Array) -> Array:
        return X.T if self.batch_first else X

    def Y(self, Y: Array) -> Array:
        if self.s["labels"] == "indices":
            return class_indices(Y)
        return Y.T if self.batch_first else Y

    def lesson(self, weights: list[Any], biases: list[Any], factor: float) -> dict[str, Any]:
        """The course's per-layer gradients as the contract's dict, times ``factor``."""
        grads: dict[str, Any] = {}
        for layer, dW in enumerate(weights, start=1):
            if dW is None:
                continue
            dW = lesson_gradient(dW, "W", self.in_out, self.bias)
            if self.bias == "augmented" and isinstance(dW, np.ndarray) and dW.ndim == 2:
                dW, grads[f"db{layer}"] = dW[:, :-1], factor * dW[:, -1:]
            grads[f"dW{layer}"] = factor * dW if isinstance(dW, np.ndarray) else dW
        for layer, db in enumerate(biases, start=1):
            if db is not None:
                db = lesson_gradient(db, "b", self.in_out, self.bias)
                grads[f"db{layer}"] = factor * db if isinstance(db, np.ndarray) else db
        return grads

    def factor(self, batch: int) -> float:
        """The lesson's loss over the course's: 1 / (scale × M for a sum)."""
        return 1.0 / (float(self.s["scale"]) * (batch if self.s["reduction"] == "sum" else 1))


def regularises(settings: Mapping[str, Any]) -> bool:
    """Whether the described API takes an L2 strength (the grader's validation
    of the table makes sure its backward then returns the loss too)."""
    return bool(settings.get("reg_attribute")) or "reg" in settings["construct"] + settings["backward_args"]


def _pick(result: Any, names: list[str], wanted: str) -> Any:
    if len(names) == 1:
        return result if names[0] == wanted else None
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise TypeError(f"expected {len(names)} results ({', '.join(names)}); got a {type(result).__name__}")
    return result[names.index(wanted)] if wanted in names else None


def adapt(module: ModuleType, settings: dict[str, Any]) -> Adapted:
    course = _Course(settings)
    s = settings
    model_class = callable_of(module, s["model"]) if s.get("model") else None
    problems = []
    if s.get("model") and model_class is None:
        problems.append(f"no class {s['model']} (the declarative adapter's model)")
    owner_names = [s[key] for key in ("forward", "backward", "step", "loss") if s.get(key)]
    if model_class is None and not problems:
        problems += [f"no function {name}() (named in the adapter table)" for name in owner_names if callable_of(module, name) is None]
    elif model_class is not None:
        problems += [f"no method {s['model']}.{name}() (named in the adapter table)" for name in owner_names if callable_of(model_class, name) is None]

    def holder(params: Mapping[str, Array], X: Array, copy: bool, reg: float = 0.0) -> tuple[Any, Any]:
        """The model built with L2 strength ``reg`` and its parameters overwritten
        (or None for functions), and what holds them."""
        weights, biases = course.parameters(params, copy)
        held = course.held(weights, biases)
        if model_class is None:
            return None, held
        sizes = widths_of(params, X)
        model = model_class(*[{"sizes": sizes, "reg": reg}[name] for name in s["construct"]])
        if s.get("reg_attribute"):
            setattr(model, s["reg_attribute"], reg)
        if s["parameters"] == "dict":
            setattr(model, s["parameters_attribute"], held)
        else:
            setattr(model, s["weights_attribute"], weights)
            if course.bias != "absent":
                setattr(model, s["biases_attribute"], biases)
        return model, held

    def call(model: Any, name: str, arguments: list[str], values: Mapping[str, Any]) -> Any:
        function = getattr(model, name) if model is not None else getattr(module, name)
        return function(*[values[argument] for argument in arguments])

    def forward(params: dict[str, Array], X: Array, activations: list[str]) -> Any:
        model, held = holder(params, X, copy=False)
        return forward_with(model, held, X, activations)

    def forward_with(model: Any, held: Any, X: Array, activations: list[str]) -> Any:
        Xc = course.X(X)
        values = {"X": Xc, "params": held, "activations": activations}
        result = call(model, s["forward"], s["forward_args"], values)
        names = s["forward_returns"]
        raw = getattr(model, s["output_attribute"]) if s.get("output_attribute") else _pick(result, names, "logits" if "logits" in names else "AL")
        AL = raw.T if course.batch_first and isinstance(raw, np.ndarray) else raw
        if "logits" in names or s.get("output") == "logits":
            AL = output_of(AL, activations[-1])
        return AL, (model, held, Xc, raw, _pick(result, names, "cache") if "cache" in names else None)

    def backward_result(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str, reg: float) -> tuple[Any, float]:
        """What the student's backward returned, and the factor that takes its loss and gradients to the lesson's."""
        model, held, Xc, AL, student_cache = cache
        values = {"X": Xc, "Y": course.Y(Y), "params": held, "cache": student_cache, "AL": AL, "activations": activations, "loss": loss, "reg": reg}
        return call(model, s["backward"], s["backward_args"], values), course.factor(Y.shape[1])

    def backward(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str) -> Any:
        result, factor = backward_result(params, cache, Y, activations, loss, 0.0)
        return lesson_grads(result, factor, depth_of(params))

    def lesson_grads(result: Any, factor: float, depth: int) -> Any:
        """The gradients in what backward returned, as the contract's dict in the lesson's units."""
        names = s["backward_returns"]
        if "grads" in names:
            grads = _pick(result, names, "grads")
            if not isinstance(grads, Mapping):
                return grads
            weights = [grads.get(course.key("W", l, gradient=True)) for l in range(1, depth + 1)]
            biases = [grads.get(course.key("b", l, gradient=True)) for l in range(1, depth + 1)]
        else:
            weights = list(_pick(result, names, "weight_gradients"))
            biases = list(_pick(result, names, "bias_gradients") or [None] * depth)
        return course.lesson(weights, biases, factor)

    def stepped(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str) -> Any:
        """The gradient an in-place step applied: (before − after) / η, on copies of params."""
        X = cache[2].T if course.batch_first else cache[2]
        model, held = holder(params, X, copy=True)
        before_w, before_b = course.parameters(params, copy=True)
        rate = float(s["learning_rate"])
        columns = [(X[:, j : j + 1], Y[:, j : j + 1]) for j in range(X.shape[1])]
        values = {"X": course.X(X), "Y": course.Y(Y), "params": held, "learning_rate": rate, "mini_batch": columns}
        call(model, s["step"], s["step_args"], values)
        after_w: list[Any]
        after_b: list[Any]
        if s["parameters"] == "dict":
            now = getattr(model, s["parameters_attribute"]) if model is not None else held
            after_w = [now[course.key("W", l)] for l in range(1, len(before_w) + 1)]
            after_b = [now.get(course.key("b", l)) for l in range(1, len(before_w) + 1)]
        elif course.bias == "absent":
            after_w = getattr(model, s["weights_attribute"]) if model is not None else held
            after_b = [None] * len(before_w)
        else:
            after_w, after_b = (getattr(model, s["weights_attribute"]), getattr(model, s["biases_attribute"])) if model is not None else held
        weights = [(b - a) / rate for b, a in zip(before_w, after_w)]
        biases = [None if b is None else (b - a) / rate for b, a in zip(before_b, after_b)]
        return course.lesson(weights, biases, course.factor(Y.shape[1]))

    def regularised(params: dict[str, Array], X: Array, Y: Array, activations: list[str], loss: str, reg: float) -> Any:
        """(loss, grads) with L2 strength ``reg``, both in the lesson's units."""
        model, held = holder(params, X, copy=False, reg=reg)
        _, cache = forward_with(model, held, X, activations)
        result, factor = backward_result(params, cache, Y, activations, loss, reg)
        value = _pick(result, s["backward_returns"], "loss")
        return np.asarray(value, dtype=np.float64) * factor, lesson_grads(result, factor, depth_of(params))

    def compute_loss(AL: Array, Y: Array, loss: str) -> Any:
        ALc = AL.T if course.batch_first else AL
        value = call(None, s["loss"], s["loss_args"], {"AL": ALc, "Y": course.Y(Y)})
        return np.asarray(value, dtype=np.float64) * course.factor(Y.shape[1])

    functions = StudentFunctions(
        None if problems else forward,
        None if problems else (stepped if s.get("step") else backward),
        compute_loss if s.get("loss") and not problems and model_class is None else None,
        regularised=regularised if regularises(s) and not problems else None,
    )
    return Adapted(functions, tuple(problems))
