"""The evidence sentences of value-based findings, with the numbers that show them."""

from __future__ import annotations

from bpcheck._contract import Case
from bpcheck.diagnosis._explain import Explanation
from bpcheck.diagnosis._mutants import DERIVATIVE_MISTAKES, formula_of


def where(layers: tuple[int, ...], case: Case) -> str:
    """ "layer 2 (sigmoid)" or "layers 1, 2 (tanh, sigmoid)"."""
    activations = case.architecture.activations
    named = ", ".join(activations[layer - 1] for layer in layers)
    plural = "s" if len(layers) > 1 else ""
    return f"layer{plural} {', '.join(map(str, layers))} ({named})"


def _shape(case: Case, key: str) -> tuple[int, ...]:
    return case.architecture.parameter_shapes()[key[1:]]


def _specific(explanation: Explanation, mistake: str, layers: tuple[int, ...], case: Case) -> str:
    M = case.batch_size
    matches = [m for m in explanation.matches if int(m.key[2:]) in layers]
    if mistake in DERIVATIVE_MISTAKES:
        written = {
            f"{formula.text} for {case.architecture.activations[layer - 1]}"
            for injection in explanation.injections
            for layer in layers
            if injection.mistake == mistake
            and injection.at(layer)
            and (formula := formula_of(case, injection, layer)) is not None
        }
        relu = mistake == "missing_activation_derivative" and any(
            case.architecture.activations[layer - 1] == "relu" for layer in layers
        )
        also = (
            "; with ReLU′(0) = 1, that is also ReLU′ evaluated at a = ReLU(z) ≥ 0 instead "
            "of at z"
            if relu
            else ""
        )
        return "f′(z) is taken as " + "; ".join(sorted(written)) + also
    if mistake == "wrong_layer_in_recurrence":
        return "; ".join(
            f"δ⁽{l}⁾ is computed with W⁽{l}⁾ᵀ where W⁽{l + 1}⁾ᵀ belongs" for l in layers
        )
    if mistake == "untransposed_weight_in_recurrence":
        return "; ".join(
            f"δ⁽{l}⁾ is computed with W⁽{l + 1}⁾ δ⁽{l + 1}⁾ where (W⁽{l + 1}⁾)ᵀ δ⁽{l + 1}⁾ belongs"
            for l in layers
        )
    if mistake == "output_derivative_missing_in_recurrence":
        output = case.architecture.activations[-1]
        return (
            f"the δ sent down from the output layer is ∂L/∂ŷ = 2(ŷ − y)/M without the output's "
            f"f′ ({output}′(z⁽{case.architecture.depth}⁾)), although the output layer's own "
            "gradients include it"
        )
    if mistake == "softmax_diagonal_derivative":
        return (
            "the output δ is (−y/ŷ)/M times ŷ(1 − ŷ), the diagonal of the softmax Jacobian "
            "only, instead of the clean (ŷ − y)/M"
        )
    if mistake == "gradient_not_propagated":
        return f"the gradients of {where(layers, case)} are zero, while the reference's are not"
    if mistake == "output_activation_derivative_applied_twice":
        variant = next(i.variant for i in explanation.injections if i.mistake == mistake)
        return f"the output δ = (ŷ − y)/M is multiplied again by {variant}"
    if mistake == "output_delta_sign":
        return "every gradient is −1 × the reference's"
    if mistake == "mse_missing_factor_two":
        return "every gradient is ½ × the reference's"
    if mistake in ("batch_mean_missing", "batch_mean_applied_twice"):
        times = f"M = {M} times" if mistake == "batch_mean_missing" else f"1/M = 1/{M} times"
        keys = ", ".join(m.key for m in matches)
        verb = "is" if len(matches) == 1 else "are"
        return f"{keys} {verb} {times} the reference's, with a batch of M = {M}"
    chosen = [(m.key, m.options[0]) for m in matches if m.options[0].mistake == mistake]
    if mistake == "transposed_weight_gradient":
        return "; ".join(
            (
                f"{key} is {o.view} (shape {_shape(case, key)[::-1]}, Wᵀ's)"
                if o.view == "a δᵀ"
                else f"{key} is {o.view}"
            )
            for key, o in chosen
        )
    if mistake == "bias_not_summed_over_batch":
        return "; ".join(
            f"{key} is {o.view}{' ' + o.scale if o.scale else ''}" for key, o in chosen
        )
    if mistake == "wrong_gradient_shape":
        return "; ".join(
            f"{key} has the right values but not the shape {_shape(case, key)}" for key, _ in chosen
        )
    return ""


def explained(explanation: Explanation, mistake: str, case: Case, confirmed: bool | None) -> str:
    """Why ``mistake`` is named: what the gradients show, and how it was checked."""
    layers = explanation.mistakes()[mistake]
    keys = ", ".join(m.key for m in explanation.matches)
    others = sorted(set(explanation.mistakes()) - {mistake})
    together = f" together with {', '.join(others)}" if others else ""
    second = (
        f" The same mistake{'s' if others else ''} also reproduce{'' if others else 's'} your gradients "
        f"on a second case, two units wider and with a larger batch."
        if confirmed
        else ""
    )
    return (
        f"At {where(layers, case)}: {_specific(explanation, mistake, layers, case)}. "
        f"Your {keys} for the counterexample are exactly the reference's with this mistake made{together}."
        + second
    )
