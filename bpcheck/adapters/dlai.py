"""The ``dlai`` adapter: deeplearning.ai's *Neural Networks and Deep Learning* (Course 1).

Course API expected (Week 4, "Building your Deep Neural Network")::

    L_model_forward(X, parameters) -> (AL, caches)
    L_model_backward(AL, Y, caches) -> grads   # "dW1", "db1", ... (and "dA0", ...)
    compute_cost(AL, Y) -> cost                # optional
    update_parameters(parameters, grads, learning_rate) -> parameters   # optional

or Week 3's two-layer network ("Planar data classification")::

    forward_propagation(X, parameters) -> (A2, cache)
    backward_propagation(parameters, cache, X, Y) -> grads

with parameters "W1", "b1", ... of shapes (n_l, n_l-1) and (n_l, 1), X of
shape (n_x, m) and labels Y of shape (1, m): the lesson's own layout.

Default scope: [LINEAR → RELU] × (L − 1) → LINEAR → SIGMOID, one output unit,
bce, 0/1 labels, depth 1–4 (Week 3: LINEAR → TANH → LINEAR → SIGMOID, depth 2).
The course's conventions are not mistakes: its ``dA`` keys are m × the
gradient of the mean cost and are not checked; its textbook
``dAL = -(Y/AL - (1-Y)/(1-AL))`` overflows at saturated outputs, so
``numerical_stability`` is not applicable to the L-layer API.
"""

from __future__ import annotations

from bpcheck._hookimpl import hookimpl
from bpcheck._scope import Scope
from bpcheck.adapters._adapter import Adapter, AdapterRequest, StudentSource, Vocabulary
from bpcheck.adapters._claim import Variant, claim

NAME = "dlai"
_NOTEBOOK = "the course's {week} notebook (\"{title}\", Course 1 of deeplearning.ai's Deep Learning Specialization)"
_BINARY = dict(losses=("bce",), output_width=1, hard_labels=True)
VARIANTS = (
    Variant(
        ("L_model_forward", "L_model_backward"),
        Scope(hidden_activations=("relu",), excluded_checks=("numerical_stability",), **_BINARY),  # type: ignore[arg-type]
        Vocabulary(
            functions={
                "forward": "L_model_forward",
                "backward": "L_model_backward",
                "compute_loss": "compute_cost",
                "update": "update_parameters",
            },
            starter=_NOTEBOOK.format(week="Week 4", title="Building your Deep Neural Network: Step by Step"),
        ),
        {"variant": "deep"},
    ),
    Variant(
        ("forward_propagation", "backward_propagation"),
        Scope(hidden_activations=("tanh",), min_depth=2, max_depth=2, **_BINARY),  # type: ignore[arg-type]
        Vocabulary(
            functions={
                "forward": "forward_propagation",
                "backward": "backward_propagation",
                "compute_loss": "compute_cost",
                "update": "update_parameters",
            },
            starter=_NOTEBOOK.format(week="Week 3", title="Planar data classification with one hidden layer"),
        ),
        {"variant": "two_layer"},
    ),
)


@hookimpl
def bpcheck_adapter(
    student: StudentSource, request: AdapterRequest, declined: list[str]
) -> Adapter | None:
    return claim(NAME, VARIANTS, student, request, declined)
