"""The derivative probe: read a student's f′(z) point by point.

With one hidden layer and a batch of 1, the lesson's recurrence gives
δ⁽¹⁾ = (W⁽²⁾ᵀ δ⁽²⁾) ⊙ f′(z⁽¹⁾) and db⁽ˡ⁾ = δ⁽ˡ⁾, so the student's own
db₁ ÷ (W₂ᵀ db₂) is the f′ they used, at pre-activations z⁽¹⁾ the probe chooses.
A network without biases is probed with X = 1, where dW₁ = δ⁽¹⁾ and a column
of dW₂ is δ⁽²⁾ times its unit's activation.
Any uniform factor (sign, 1/M, the 2 of mse) cancels in the quotient. The probe
is run for two targets, with the output weights doubled, and with a repeated z:
only when every reading agrees is the result a function of z alone, and only
then is it reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Architecture, Array, Case
from bpcheck._numerics import real_arrays
from bpcheck._sandbox.calls import Reply
from bpcheck._student import Student
from bpcheck.checks._context import gradient_call
from bpcheck.diagnosis._formulas import SYMBOL, Formula, expected, formulas

#: The pre-activations read; 0.5 repeats, so that f′ must agree with itself.
GRID = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 0.5])


def _same(a: Array, b: Array | float) -> bool:
    """Equal to the precision of the reading: a float32 student's is stored as
    float32 (see :func:`_reading`), so the tolerance follows the dtype."""
    wide = np.asarray(a).dtype == np.float64
    return bool(np.allclose(a, b, rtol=1e-6 if wide else 1e-3, atol=1e-9 if wide else 1e-6))


@dataclass(frozen=True)
class Reading:
    """The student's f′ of ``activation`` at ``z``, and the known formula it equals (if any)."""

    activation: str
    z: Array
    yours: Array
    formula: Formula | None

    def quote(self) -> str:
        """ "your tanh′(0.5) = 0.75 = 1 − z²; expected 1 − tanh²(0.5) = 0.7864", at z = 0.5
        or, when the reading is right there, at the first z where it is wrong."""
        correct = expected(self.activation)
        assert correct is not None
        right = correct.function(self.z)
        wrong = ~np.array(
            [_same(mine, theirs) for mine, theirs in zip(self.yours, right, strict=True)]
        )
        preferred = np.flatnonzero((self.z == 0.5) & wrong)
        index = int(preferred[0] if preferred.size else np.flatnonzero(wrong | (self.z == 0.5))[0])
        at = f"{self.z[index]:g}".replace("-", "−")
        if self.formula is None:
            named = " (a formula bpcheck does not know)"
        elif self.formula.mistake == "missing_activation_derivative":
            named = ", as if there were no f′ at all"
        else:
            named = f" = {self.formula.text}"
        return (
            f"your {SYMBOL[self.activation]}′({at}) = {self.yours[index]:.4g}{named}; "
            f"expected {correct.text.replace('z', at)} = {right[index]:.4g}"
        )


def _probe_case(
    activation: str, output: str, loss: str, target: int, biases: bool, scale: float = 1.0
) -> Case:
    """One hidden layer of :data:`GRID`'s size, X = 1, so that z⁽¹⁾ = GRID; the
    output weights 0.3 × ``scale``."""
    outputs = 2 if loss == "cce" else 1
    units = GRID.size
    W2 = 0.3 * scale * np.ones((outputs, units))
    if outputs == 2:
        W2[1] *= -1
    if biases:
        params = {
            "W1": 0.5 * np.ones((units, 1)),
            "b1": (GRID - 0.5).reshape(-1, 1),
            "W2": W2,
            "b2": np.zeros((outputs, 1)),
        }
    else:
        params = {"W1": GRID.reshape(-1, 1).copy(), "W2": W2}
    if loss == "cce":
        Y = np.eye(2)[:, [target]]
    elif loss == "bce":
        Y = np.array([[float(target)]])
    else:
        Y = np.array([[5.0 - 10.0 * target]])
    architecture = Architecture((1, units, outputs), (activation, output), loss, biases)
    return Case(architecture, params, np.ones((1, 1)), Y)


def _deltas(grads: dict[str, Array], case: Case) -> tuple[Array, Array] | None:
    """The student's own δ⁽¹⁾ and δ⁽²⁾ on a probe case, from their gradients:
    db₁ and db₂; without biases dW₁ (X = 1) and the column of dW₂ of the most
    active hidden unit divided by that unit's activation."""
    if case.architecture.biases:
        first, second = grads.get("db1"), grads.get("db2")
    else:
        first, dW2 = grads.get("dW1"), grads.get("dW2")
        A1 = reference.ACTIVATIONS[case.architecture.activations[0]][0](GRID)
        unit = int(np.argmax(np.abs(A1)))
        second = None if dW2 is None or dW2.shape != case.params["W2"].shape else dW2[:, unit] / A1[unit]
    if first is None or second is None or first.size != GRID.size or second.size != case.Y.shape[0]:
        return None
    return first, second


def _reading(reply: Reply, case: Case) -> Array | None:
    """The f′ the student's ``reply`` on the probe ``case`` shows, point by point
    (None when it raised or its gradients cannot be read)."""
    if reply.error is not None or not reply.gradients:
        return None
    deltas = _deltas(real_arrays(reply.grads, [f"d{name}" for name in case.params]), case)
    if deltas is None:
        return None
    first, second = deltas
    back = case.params["W2"].T @ second.reshape(-1, 1)
    if np.any(np.abs(back) < 1e-12) or not np.all(np.isfinite(first)):
        return None
    return (first.reshape(-1, 1) / back).ravel().astype(first.dtype)


def read_derivative(
    student: Student, activation: str, output: str, loss: str, biases: bool = True
) -> Reading | None:
    """The student's f′ of hidden ``activation``, read through a network with
    that output activation and loss (and biases, or none), for two targets and
    with the output weights doubled; None when the readings disagree (the
    factor is not a function of z alone: it depends on the output layer, as a δ
    sent down without the output's f′ does) or the student cannot run the probe."""
    cases = [
        _probe_case(activation, output, loss, target, biases, scale)
        for target, scale in ((0, 1.0), (1, 1.0), (0, 2.0))
    ]  # asked in one batch: one round trip to an isolated worker
    replies = student.call_many([gradient_call(case) for case in cases])
    readings = [_reading(reply, case) for reply, case in zip(replies, cases, strict=True)]
    first = readings[0]
    if first is None or any(other is None or not _same(first, other) for other in readings[1:]):
        return None
    if np.allclose(first, 0.0, rtol=0.0, atol=1e-12):
        return None  # no gradient reaches the hidden layer at all: nothing to read
    repeated = np.flatnonzero(GRID == GRID[-1])
    if not _same(first[repeated], float(first[repeated[0]])):
        return None
    formula = next(
        (known for known in formulas(activation) if _same(first, known.function(GRID))),
        None,
    )
    if formula is None and _same(first, float(first[0])):
        return None  # the same factor at every z is not a derivative of z: something else is wrong
    return Reading(activation, GRID, first, formula)
