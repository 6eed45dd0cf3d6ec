"""``worked_examples``: the lesson's worked examples, replayed through the student's code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcheck._contract import Architecture, Array, Case
from bpcheck._sandbox.calls import LossCall
from bpcheck.checks._base import CheckSkipped, check
from bpcheck.checks._context import CheckContext
from bpcheck.checks._expect import expect

#: The lesson quotes rounded values (4 significant digits).
LESSON_ROUNDING = 5e-4


def _column(*values: float) -> Array:
    return np.array(values, dtype=np.float64).reshape(-1, 1)


@dataclass(frozen=True)
class WorkedExample:
    """A lesson example: a case and the numbers the lesson gives for it.

    ``gradients`` maps a gradient key to every answer the lesson accepts.
    """

    title: str
    case: Case
    loss_value: float | None
    gradients: dict[str, tuple[Array, ...]]


EXAMPLE_1 = WorkedExample(
    "Example 1 (scalar ReLU then linear network, mse, x = 1, y = 10)",
    Case(
        Architecture((1, 1, 1), ("relu", "linear"), "mse"),
        {"W1": _column(2.0), "b1": _column(0.0), "W2": _column(3.0), "b2": _column(1.0)},
        X=_column(1.0),
        Y=_column(10.0),
    ),
    loss_value=9.0,
    gradients={
        "dW2": (_column(-12.0),),
        "db2": (_column(-6.0),),
        "dW1": (_column(-18.0),),
        "db1": (_column(-18.0),),
    },
)

EXAMPLE_2 = WorkedExample(
    "Example 2 (single sigmoid neuron, bce, x = 2, w = 1, b = −1, y = 0)",
    Case(
        Architecture((1, 1), ("sigmoid",), "bce"),
        {"W1": _column(1.0), "b1": _column(-1.0)},
        X=_column(2.0),
        Y=_column(0.0),
    ),
    loss_value=1.313,
    gradients={"dW1": (_column(1.4622),), "db1": (_column(0.7311),)},
)

# Problem 4 as a network: a linear layer feeding z⁽²⁾ = [1, −2, 0] into ReLU,
# then W⁽³⁾ and an mse target chosen so that δ⁽³⁾ = [0.5, −0.3].
PROBLEM_4 = WorkedExample(
    "Problem 4 (δ⁽²⁾ = (W⁽³⁾ᵀ δ⁽³⁾) ⊙ ReLU′(z⁽²⁾) with z⁽²⁾ = [1, −2, 0])",
    Case(
        Architecture((1, 1, 3, 2), ("linear", "relu", "linear"), "mse"),
        {
            "W1": _column(1.0),
            "b1": _column(0.0),
            "W2": np.zeros((3, 1)),
            "b2": _column(1.0, -2.0, 0.0),
            "W3": np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]),
            "b3": _column(0.0, 0.0),
        },
        X=_column(1.0),
        Y=_column(0.75, -0.85),
    ),
    loss_value=None,
    gradients={
        "db3": (_column(0.5, -0.3),),
        # Both ReLU′(0) conventions: 0 gives [0.8, 0, 0], 1 gives [0.8, 0, 1.2].
        "db2": (_column(0.8, 0.0, 0.0), _column(0.8, 0.0, 1.2)),
    },
)

WORKED_EXAMPLES = (EXAMPLE_1, EXAMPLE_2, PROBLEM_4)


def _in_scope(example: WorkedExample, context: CheckContext) -> bool:
    architecture = example.case.architecture
    families = {(family.hidden, family.loss) for family in context.scope}
    hidden = {hidden for hidden, loss in families if loss == architecture.loss} | {"linear"}
    return context.assignment.admits(architecture) and set(architecture.activations[:-1]) <= hidden


def _matches(got: Array, answers: tuple[Array, ...]) -> bool:
    return any(
        got.shape == answer.shape and np.allclose(got, answer, rtol=LESSON_ROUNDING, atol=1e-9)
        for answer in answers
    )


@check(
    "worked_examples",
    claim="The lesson's Example 1, Example 2 and Problem 4 give the lesson's numbers.",
    points=10,
    per_family=False,
    applies_within=lambda scope: any(scope.admits(e.case.architecture) for e in WORKED_EXAMPLES),
    outside_scope="none of the lesson's worked examples is a network of the assignment",
)
def worked_examples(context: CheckContext) -> None:
    examples = [example for example in WORKED_EXAMPLES if _in_scope(example, context)]
    if not examples:
        raise CheckSkipped("none of the lesson's worked examples uses this assignment's families")
    for example in examples:
        case = example.case
        reply = context.gradients(case)
        grads = context.usable_gradients(reply, case)
        wrong = [
            f"{key} = {grads[key].ravel().round(4).tolist()}, the lesson has "
            + " or ".join(str(answer.ravel().tolist()) for answer in answers)
            for key, answers in example.gradients.items()
            if not _matches(grads[key], answers)
        ]
        expect(not wrong, f"{example.title}: " + "; ".join(wrong), case=case, gradients=grads)
        if example.loss_value is not None and "compute_loss" in context.student.api.optional:
            assert reply.AL is not None
            answer = context.call_optional(LossCall(reply.AL, case.Y, case.architecture.loss), case)
            loss = answer.loss if answer is not None and answer.loss is not None else example.loss_value
            expect(
                bool(np.isclose(loss, example.loss_value, rtol=LESSON_ROUNDING)),
                f"{example.title}: compute_loss gives {loss:.4g}, the lesson has L = {example.loss_value:g}",
                case=case,
            )
