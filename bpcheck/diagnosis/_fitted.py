"""Recognisers that fit one number to the student's gradients, then confirm it.

``scaled_gradient_tensor``: a single gradient is a constant c times the true
one (a planted course bug, "dW2 = 2 * ..."), every other gradient right.
``update_before_propagation``: the recurrence used W already updated by
W − η dW, with one η for every layer. Each fires only when no known mistake
of the mutants reproduces the gradients, and only when the same number fits a
second, larger case too.
"""

from __future__ import annotations

import bpcheck_reference as reference

from bpcheck._contract import Array, Case
from bpcheck._numerics import best_fit_scale, relative_error
from bpcheck.diagnosis._evidence import Evidence
from bpcheck.diagnosis._mistake import Finding
from bpcheck.diagnosis._wording import where


def _unexplained(evidence: Evidence) -> bool:
    """The gradients are wrong, and no combination of known mistakes reproduces them."""
    values = evidence.values
    return values is not None and not values.agrees and not values.mistakes


# ---------------------------------------------------------- one tensor scaled


def scaled_gradient_tensor(evidence: Evidence) -> Finding | None:
    case, grads = evidence.case, evidence.gradients
    if case is None or grads is None or not _unexplained(evidence):
        return None
    if evidence.scaled_alone is None:
        return None
    key, factor = evidence.scaled_alone
    second = evidence.second_case
    layer = int(key[2:])
    others = "; every other gradient is right" if len(grads) > 1 else ""
    return Finding(
        f"{key} is exactly {factor:.6g} × the reference's, on the counterexample and on a second "
        f"case two units wider with a batch of {second.batch_size}{others}."
        f"{_deeper(evidence, factor)} The factor does not depend on the batch or the widths: a "
        f"constant multiplies {key} alone at {where((layer,), case)}.",
        (layer,),
    )


def _deeper(evidence: Evidence, factor: float) -> str:
    """What a deeper case showed, where the counterexample has one gradient tensor."""
    if evidence.scaled_alone_deeper is None:
        return ""
    key, case = evidence.scaled_alone_deeper
    which = "output" if int(key[2:]) == case.architecture.depth else "first"
    return (
        f" On {case.describe()}, {key} alone is {factor:.6g} × the reference's and the other "
        f"layer's gradient is right: the factor is on the {which} layer's gradient, not common "
        "to every gradient."
    )


# ------------------------------------------------- W updated before the recurrence


def updated_recurrence(case: Case, eta: float) -> dict[str, Array]:
    """The reference's gradients if each layer's W were updated to W − η dW
    before its δ is sent down: the lesson's "updating W in place before the
    recurrence has read it"."""
    activations, loss = case.architecture.activations, case.architecture.loss
    _, cache = reference.forward(case.params, case.X, activations)
    L = len(activations)
    AL, ZL, Y = cache[f"A{L}"], cache[f"Z{L}"], case.Y
    if loss == "mse":
        delta = reference.loss_gradient(AL, Y, loss) * reference.ACTIVATIONS[activations[-1]][1](ZL)
    else:
        delta = (AL - Y) / Y.shape[1]
    grads: dict[str, Array] = {}
    for layer in range(L, 0, -1):
        grads[f"dW{layer}"] = delta @ cache[f"A{layer - 1}"].T
        if case.architecture.biases:
            grads[f"db{layer}"] = delta.sum(axis=1, keepdims=True)
        if layer > 1:
            W = case.params[f"W{layer}"] - eta * grads[f"dW{layer}"]
            f_prime = reference.ACTIVATIONS[activations[layer - 2]][1]
            delta = (W.T @ delta) * f_prime(cache[f"Z{layer - 1}"])
    return grads


def _fitted_eta(case: Case, grads: dict[str, Array]) -> float | None:
    """η from the layer below the output, where the gradient is linear in η."""
    L = case.architecture.depth
    key = f"dW{L - 1}"
    if key not in grads:
        return None
    true, shifted = updated_recurrence(case, 0.0), updated_recurrence(case, 1.0)
    direction = shifted[key] - true[key]  # = −K: the change per unit of η
    if grads[key].shape != direction.shape:
        return None
    eta = best_fit_scale(grads[key] - true[key], direction)
    return eta if eta is not None and eta > 0 else None


def _reproduced(case: Case, grads: dict[str, Array], eta: float, tolerance: float) -> bool:
    predicted = updated_recurrence(case, eta)
    return all(
        key in grads and grads[key].shape == value.shape and relative_error(grads[key], value) <= tolerance
        for key, value in predicted.items()
    )


def update_before_propagation(evidence: Evidence) -> Finding | None:
    case, grads = evidence.case, evidence.gradients
    if case is None or grads is None or case.architecture.depth < 2 or not _unexplained(evidence):
        return None
    eta = _fitted_eta(case, grads)
    if eta is None or not _reproduced(case, grads, eta, evidence.tolerance):
        return None
    # One number fits almost anything on a counterexample of one unit: a second,
    # larger case must be reproduced by the same η (unless the student raised there).
    second = evidence.second_observation
    if second is not None and not _reproduced(second.case, dict(second.gradients), eta, evidence.tolerance):
        return None
    confirmed = second is not None
    layers = tuple(range(1, case.architecture.depth))
    checked = (
        " The same η reproduces your gradients on a second case, two units wider and with a larger batch."
        if confirmed
        else ""
    )
    return Finding(
        f"Your gradients at {where(layers, case)} are exactly those of a recurrence that sends δ "
        f"down through W already updated to W − η·dW, with η = {eta:.4g}: the update ran before "
        f"the layer below read W.{checked}",
        layers,
        "high" if confirmed else "medium",
    )


__all__ = ["scaled_gradient_tensor", "update_before_propagation", "updated_recurrence"]

