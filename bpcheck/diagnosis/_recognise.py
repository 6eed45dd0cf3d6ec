"""The built-in recognisers: each reads one kind of fact off the evidence."""

from __future__ import annotations

from collections.abc import Callable

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Case
from bpcheck._sandbox.calls import ForwardCall
from bpcheck.checks._base import reference_forward
from bpcheck.checks.cost import NUMERICAL_COST
from bpcheck.diagnosis._evidence import Evidence, forward_matches
from bpcheck.diagnosis._mistake import Finding, Recogniser
from bpcheck.diagnosis._mutants import DERIVATIVE_MISTAKES
from bpcheck.diagnosis._wording import explained, where

# ------------------------------------------------------------ gradient values


def by_values(mistake: str) -> Recogniser:
    """Fires when the known mistakes that reproduce the gradients include ``mistake``."""

    def recognise(evidence: Evidence) -> Finding | None:
        values, case = evidence.values, evidence.case
        if values is None or case is None or mistake not in values.mistakes:
            return None
        explanation = values.explanations[0]
        text = explained(explanation, mistake, case, values.confirmed)
        layers = values.mistakes[mistake]
        if mistake in DERIVATIVE_MISTAKES:
            text += _probe_quote(evidence, mistake, layers)
        return Finding(text, layers, "high" if values.confirmed else "medium")

    return recognise


def _probe_quote(evidence: Evidence, mistake: str, layers: tuple[int, ...]) -> str:
    assert evidence.case is not None
    architecture = evidence.case.architecture
    hidden = [layer for layer in layers if layer < architecture.depth]
    if not hidden:
        return ""
    reading = evidence.derivative(architecture.activations[hidden[0] - 1])
    if reading is None or reading.formula is None or reading.formula.mistake != mistake:
        return ""
    return (
        " The derivative probe (one hidden layer, batch of 1) reads it directly: "
        f"{reading.quote()}."
    )


def by_derivative_probe(mistake: str) -> Recogniser:
    """When no known mistake reproduces the gradients but they first differ at a
    hidden layer, read that layer's f′ with the probe: fires when the reading is
    a consistent function of z that is ``mistake``'s (for wrong_activation_derivative,
    also any formula bpcheck does not know). Not where one gradient alone is a
    constant times the reference's (``scaled_gradient_tensor``): the probe's
    quotient db₁ ÷ (W₂ᵀ db₂) would read that constant as part of f′."""

    def recognise(evidence: Evidence) -> Finding | None:
        values, case = evidence.values, evidence.case
        if values is None or case is None or values.agrees or values.mistakes:
            return None
        diverging = evidence.divergence()
        if not diverging or diverging[0][2] is None:
            return None
        layer = diverging[0][0]
        if layer >= case.architecture.depth:
            return None
        if evidence.scaled_alone is not None:  # the probe's quotient would read its factor
            return None
        activation = case.architecture.activations[layer - 1]
        reading = evidence.derivative(activation)
        if reading is None:
            return None
        named = (
            reading.formula.mistake
            if reading.formula is not None
            else "wrong_activation_derivative"
        )
        if named != mistake:
            return None
        return Finding(
            f"Your gradients agree with the reference above {where((layer,), case)} and first differ "
            f"there; no single known mistake reproduces them all, but the derivative probe (one hidden "
            f"layer, batch of 1) reads your f′ directly: {reading.quote()}.",
            (layer,),
            "medium",
        )

    return recognise


def either(*recognisers: Recogniser) -> Recogniser:
    """The first finding of ``recognisers``."""

    def recognise(evidence: Evidence) -> Finding | None:
        return next((f for r in recognisers if (f := r(evidence)) is not None), None)

    return recognise


# ------------------------------------------------------------ shapes alone


def _unexplained_shapes(evidence: Evidence) -> dict[str, str]:
    """Misshapen gradients no value explanation covers, classified by shape alone:
    the mistake id each shape points to."""
    values, case, grads = evidence.values, evidence.case, evidence.gradients
    if values is None or case is None or grads is None or values.mistakes or values.agrees:
        return {}
    shapes = case.architecture.parameter_shapes()
    found = {}
    for key, got in grads.items():
        shape = shapes[key[1:]]
        if got.shape == shape:
            continue
        if key.startswith("dW") and got.shape == shape[::-1]:
            found[key] = "transposed_weight_gradient"
        elif key.startswith("db") and _keeps_the_batch(evidence, key):
            found[key] = "bias_not_summed_over_batch"
        else:
            found[key] = "wrong_gradient_shape"
    return found


def _keeps_the_batch(evidence: Evidence, key: str) -> bool:
    """Whether ``key``'s shape has the batch's length in place of the units': on
    the failing case when its batch tells them apart, else on the second case,
    whose batch is larger than every width (Hypothesis often shrinks the
    failing case to a batch of one, where db over the wrong axis is (1, 1))."""
    case, grads = evidence.case, evidence.gradients
    assert case is not None and grads is not None
    units = case.architecture.parameter_shapes()[key[1:]][0]
    if case.batch_size not in (1, units):
        return case.batch_size in grads[key].shape
    second = evidence.second_observation
    if second is None or key not in second.gradients:
        return False
    return second.case.batch_size in np.shape(second.gradients[key])


def by_shape(mistake: str) -> Recogniser:
    """Fires for gradients whose shape alone shows ``mistake`` (Wᵀ's shape; a
    batch axis kept in db; any other wrong shape), when no explanation covers them."""

    def recognise(evidence: Evidence) -> Finding | None:
        case = evidence.case
        keys = [key for key, found in _unexplained_shapes(evidence).items() if found == mistake]
        if not keys or case is None or evidence.gradients is None:
            return None
        shapes = case.architecture.parameter_shapes()
        described = "; ".join(
            f"{key} has shape {evidence.gradients[key].shape}, {key[1:]} has {shapes[key[1:]]}"
            for key in keys
        )
        return Finding(
            f"{described} (batch of {case.batch_size}). Their values match no known mistake, "
            "so only the shape points to this one.",
            tuple(sorted({int(key[2:]) for key in keys})),
            "medium",
        )

    return recognise


# ------------------------------------------------------------ the forward pass


def _first_layer(
    evidence: Evidence, case: Case, wrong: Callable[[np.ndarray, np.ndarray], bool]
) -> int | None:
    """The first layer whose output is ``wrong`` (given the student's and the
    reference's) on ``case``, found by running the student's forward on the
    network cut after each layer in turn."""
    activations = case.architecture.activations
    for depth in range(1, len(activations) + 1):
        if depth < len(activations) and activations[depth - 1] == "softmax":
            return None
        params = {
            name: case.params[name]
            for name in case.architecture.parameter_shapes()  # Wℓ, and bℓ where it has biases
            if int(name[1:]) <= depth
        }
        reply = evidence.student.call(ForwardCall(params, case.X, activations[:depth]))
        expected, _ = reference.forward(params, case.X, activations[:depth])
        if reply.error is not None or reply.AL is None:
            return None
        if wrong(reply.AL, expected):
            return depth
    return None


def _real_part(AL: np.ndarray) -> np.ndarray:
    """AL's values as forward_mismatch judges them: a complex AL's real part
    (complex_forward says that it is complex)."""
    return AL.real if AL.dtype.kind == "c" else AL


def complex_forward(evidence: Evidence) -> Finding | None:
    AL = evidence.complex_AL
    if AL is None:
        return None
    assert evidence.case is not None
    imaginary = float(np.max(np.abs(AL.imag))) if AL.size else 0.0
    values = (
        "Its real part is the reference's AL."
        if evidence.complex_AL_real_part_right
        else "Its real part differs from the reference's AL too."
    )
    layer = _first_layer(evidence, evidence.case, lambda AL, expected: AL.dtype.kind == "c")
    at = (
        f" Run on the network cut after each layer in turn, forward() first returns complex "
        f"numbers when cut after {where((layer,), evidence.case)}."
        if layer
        else ""
    )
    return Finding(
        f"AL returned by forward() has dtype {AL.dtype} (its largest imaginary part is "
        f"{imaginary:.3g}): the network's output must be real floating point numbers, and a "
        f"complex array is not one, even where every imaginary part is 0. {values}{at}",
        (layer,) if layer else (),
    )


def forward_mismatch(evidence: Evidence) -> Finding | None:
    if evidence.forward != "mismatch" or evidence.case is None:
        return None
    if evidence.complex_AL is not None and evidence.complex_AL_real_part_right:
        return None  # the values are right: complex_forward says what is wrong
    error = evidence.forward_error
    size = (
        f"relative error {error:.3g}"
        if error is not None and np.isfinite(error)
        else "a different shape or non-finite values"
    )
    assert evidence.forward_case is not None
    layer = _first_layer(
        evidence,
        evidence.forward_case,
        lambda AL, expected: not forward_matches(_real_part(AL), expected, evidence.tolerance),
    )
    at = (
        f" The first layer whose output a⁽ˡ⁾ is wrong is {where((layer,), evidence.case)}."
        if layer
        else ""
    )
    shown = (
        "on the counterexample"
        if evidence.forward_case is evidence.case
        else "on a second, larger case (the counterexample's saturated outputs hide it)"
    )
    return Finding(
        f"AL returned by forward() differs from the reference's ({size}) {shown}.{at} "
        "The gradients cannot be judged until the forward pass is right.",
        (layer,) if layer else (),
    )


def unstable_softmax(evidence: Evidence) -> Finding | None:
    if evidence.forward != "overflow" or evidence.case is None or evidence.reply is None:
        return None
    assert evidence.reply.AL is not None
    AL = evidence.reply.AL
    state = "contains nan or inf" if not np.all(np.isfinite(AL)) else "is wrong"
    case = evidence.case
    _, cache = reference_forward(case)
    logits = float(cache[f"Z{case.architecture.depth}"].max())
    return Finding(
        f"With output logits near {logits:.3g} your softmax output {state}; shifting every logit "
        "down by the same amount (which leaves softmax unchanged) makes it right. np.exp overflows "
        "without the max-subtraction.",
        (evidence.case.architecture.depth,),
    )


# ------------------------------------------------------------ behaviour


def missing_gradients(evidence: Evidence) -> Finding | None:
    if not evidence.missing or evidence.reply is None:
        return None
    returned = ", ".join(sorted(evidence.reply.grads)) or "nothing"
    return Finding(
        f"backward() returned no {', '.join(evidence.missing)}; it returned {returned}.",
        tuple(sorted({int(key[2:]) for key in evidence.missing})),
    )


def _mutated(evidence: Evidence, wanted: Callable[[str], bool]) -> Finding | None:
    parts = (
        evidence.mutated
        if evidence.check in ("no_mutation", "update")
        else (evidence.reply.mutated if evidence.reply is not None else ())
    )
    changed = [part for part in parts if wanted(part)]
    if not changed:
        return None
    return Finding(
        f"After your code ran, {', '.join(changed)} no longer held what was passed in: "
        "it was changed in place."
    )


def params_mutated(evidence: Evidence) -> Finding | None:
    return _mutated(evidence, lambda part: part.startswith("params["))


def inputs_mutated(evidence: Evidence) -> Finding | None:
    return _mutated(evidence, lambda part: part.split(" ")[0] in ("X", "Y"))


def gradient_accumulates(evidence: Evidence) -> Finding | None:
    accumulation = evidence.accumulation
    if accumulation is None:
        return None
    key = next(iter(accumulation.increment))
    seen = ", ".join(f"{float(grads[key].flat[0]):.4g}" for grads in accumulation.returned)
    return Finding(
        f"Three backward() calls on the same forward cache returned {key}[0] = {seen}: "
        "each call adds the same amount to what the previous one returned, a running sum."
    )


# ------------------------------------------------------------ the contract's types


def _gradients_of_kind(evidence: Evidence, kinds: str) -> dict[str, np.dtype]:
    """The contract's gradients in the reply whose dtype is of one of ``kinds``
    (NumPy's one-letter dtype kinds), with their dtypes."""
    reply, case = evidence.reply, evidence.case
    if reply is None or case is None or not reply.gradients:
        return {}
    return {
        key: value.dtype
        for key, value in reply.grads.items()
        if key in evidence.expected and value.dtype.kind in kinds
    }


def _layers_of(keys: dict[str, np.dtype]) -> tuple[int, ...]:
    return tuple(sorted({int(key[2:]) for key in keys}))


def _dtypes(keys: dict[str, np.dtype]) -> str:
    return "; ".join(f"{key} has dtype {dtype}" for key, dtype in keys.items())


def integer_gradients(evidence: Evidence) -> Finding | None:
    integral = _gradients_of_kind(evidence, "biu")  # booleans, signed and unsigned integers
    if not integral:
        return None
    return Finding(
        f"{_dtypes(integral)}: gradients must be floating point, and an integer array rounds every "
        "entry (np.zeros_like(W) of an integer W, or np.zeros(shape, dtype=int), is integral).",
        _layers_of(integral),
    )


def complex_gradients(evidence: Evidence) -> Finding | None:
    complex_ = _gradients_of_kind(evidence, "c")
    if not complex_ or evidence.complex_AL is not None:
        return None  # gradients of a complex forward pass: complex_forward says why
    return Finding(
        f"{_dtypes(complex_)}: gradients must be real floating point numbers, and a complex array "
        "is not one, even where its imaginary part is 0 (np.zeros(shape, dtype=complex), or a "
        "complex step's result used whole, makes one).",
        _layers_of(complex_),
    )


# ------------------------------------------------------------ cost and stability


def numerical_differentiation(evidence: Evidence) -> Finding | None:
    """backprop_cost's failure; or numerical_stability's, when the output
    gradient breaks at saturated sigmoid outputs (:func:`_broken_at_saturation`)
    and backward is timed beyond :data:`~bpcheck.checks.cost.NUMERICAL_COST`
    forward passes, a cost of finite differences: such code has no output δ to
    blame, and differentiates a loss computed from ŷ."""
    if evidence.check == "backprop_cost":
        return Finding(
            f"{evidence.message.split('. Your backward')[0]}. That is the cost of finite "
            "differences (two forward passes per parameter), not of backprop, whose backward "
            "costs about 2–3 forward passes whatever the number of parameters (lesson, Cost)."
        )
    what = _broken_at_saturation(evidence)
    timed = evidence.timed if what is not None else None
    if what is None or timed is None or timed.cost <= NUMERICAL_COST:
        return None
    assert evidence.case is not None
    network = timed.network.architecture
    return Finding(
        f"{what}, and forward() and backward() together cost {timed.cost:.0f} forward passes on "
        f"a network of {network.describe()} ({timed.parameters} parameters): your backward "
        "differentiates the loss numerically. A loss computed from ŷ is inf (log 0) or flat "
        "(ŷ clipped) where ŷ is exactly 0 or 1, so its differences are nan or 0 there, while "
        "backprop's δ⁽ᴸ⁾ = ŷ − y stays ±1.",
        (evidence.case.architecture.depth,),
    )


def unstable_output_delta(evidence: Evidence) -> Finding | None:
    """At saturated sigmoid outputs the textbook ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) divides
    by zero (or, clipped, meets σ′(z) = 0): the output δ is non-finite or vanishes
    where the clean ŷ − y is ±1. Not said of code whose backward is timed at the
    cost of finite differences: it has no δ (see :func:`numerical_differentiation`)."""
    what = _broken_at_saturation(evidence)
    if what is None:
        return None
    timed = evidence.timed
    if timed is not None and timed.cost > NUMERICAL_COST:
        return None
    assert evidence.case is not None
    return Finding(
        f"{what}: ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) divides by ŷ(1 − ŷ) = 0 there (clipped ŷ only "
        "turns it into a finite number times σ′(z) = 0), while the clean δ = ŷ − y stays ±1.",
        (evidence.case.architecture.depth,),
    )


def _broken_at_saturation(evidence: Evidence) -> str | None:
    """On numerical_stability's bce case, with a right forward pass: a sentence
    saying what is wrong with the gradient that carries δ⁽ᴸ⁾ alone (db⁽ᴸ⁾, or
    dW⁽ᴸ⁾ without biases), when it is non-finite or about 0; None otherwise."""
    case, reply = evidence.case, evidence.reply
    if evidence.check != "numerical_stability" or case is None or reply is None or not reply.gradients:
        return None
    architecture = case.architecture
    key = f"{'db' if architecture.biases else 'dW'}{architecture.depth}"  # δ⁽ᴸ⁾ summed, or δ⁽ᴸ⁾ aᵀ
    if architecture.loss != "bce" or key not in reply.grads or reply.AL is None:
        return None
    expected_AL, _ = reference.forward(case.params, case.X, architecture.activations)
    if not forward_matches(reply.AL, expected_AL, evidence.tolerance):
        return None
    got, expected = reply.grads[key], evidence.expected[key]
    if got.shape != expected.shape:
        return None
    if not np.all(np.isfinite(got)):
        what = f"{key} contains {'nan' if np.isnan(got).any() else 'inf'}"
    elif np.linalg.norm(got) < 1e-3 * np.linalg.norm(expected):
        what = (
            f"{key} is about 0 ({np.linalg.norm(got):.2g} in norm; the reference's is "
            f"{np.linalg.norm(expected):.3g})"
        )
    else:
        return None
    return (
        "With output logits near ±1e3 your forward pass is right (ŷ is exactly 0 or 1), but "
        f"{what}"
    )


# ------------------------------------------------------------ regularisation


def regularisation(mistake: str) -> Recogniser:
    """Fires when a kind of parameter's L2 gradient term makes ``mistake``
    against the loss's penalty (see :class:`~bpcheck.checks.regularisation.Penalty`)."""

    def recognise(evidence: Evidence) -> Finding | None:
        penalty = evidence.penalty
        if penalty is None:
            return None
        kinds = [kind for kind in penalty.coefficient if penalty.mistake(kind) == mistake]
        if not kinds:
            return None
        return Finding("; ".join(penalty.describe(kind) for kind in kinds) + ".")

    return recognise
