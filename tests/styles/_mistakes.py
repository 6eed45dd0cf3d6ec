"""Students: a style, and the catalogued mistake written into it (or none).

:data:`INJECTORS` maps every mistake id to the function that writes it into a
style, or returns None where the mistake cannot occur in that style (it is
skipped there, never faked). A mistake the catalogue names without an entry
here is listed by :func:`uninjectable` and fails a test.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import Any

from tests.styles._bugs import CORRECT, Bugs
from tests.styles._functions import casts_backward
from tests.styles._module import render
from tests.styles._style import Style

#: The hidden activations and losses a full run covers.
HIDDEN = ("linear", "relu", "sigmoid", "tanh")
LOSSES = ("mse", "bce", "cce")


@dataclass(frozen=True)
class Student:
    """A generated student: ``style`` with ``mistake`` written in by ``bugs``
    (None and no bugs: a correct student). ``hidden`` and ``losses`` are the
    families the mistake shows in; a quick run needs one of each."""

    style: Style
    mistake: str | None = None
    bugs: Bugs = CORRECT
    hidden: tuple[str, ...] = HIDDEN
    losses: tuple[str, ...] = LOSSES

    @property
    def name(self) -> str:
        return f"{self.mistake or 'correct'}@{self.style.id}"

    def source(self) -> str:
        return render(self.style, self.bugs, self.mistake)

    def expected(self, losses: Collection[str]) -> frozenset[str]:
        """The mistakes a run over ``losses`` must name: the injected one,
        ``unstable_output_delta`` where a textbook output derivative meets one
        of its style's unstable losses (bce; cce too without biases), and
        ``params_mutated`` where W is updated in place before the recurrence
        reads it on the caller's own arrays (a style that casts the parameters
        in backward updates its copies): that student has both mistakes."""
        names = {self.mistake} if self.mistake else set()
        if self.mistake == "update_before_propagation" and not casts_backward(self.style):
            names.add("params_mutated")
        if set(self.style.unstable_losses) & set(losses) and not self.bugs.numerical:
            names.add("unstable_output_delta")
        return frozenset(names)


Injector = Callable[[Style], Student | None]


def _rotate(style: Style, choices: tuple[Any, ...]) -> Any:
    """One of ``choices``, fixed per style, varying across styles."""
    return choices[zlib.crc32(style.id.encode()) % len(choices)]


def _shown_alone(student: Student) -> Student | None:
    """``student`` run only on the losses where its style's output δ is stable:
    on its :attr:`Style.unstable_losses` a textbook δ⁽ᴸ⁾ fails numerical_stability
    beside the injected mistake, or is left unjudged there once the mistake makes
    the gradients wrong at ordinary logits too. None when no loss the mistake
    shows in is left (cce-only mistakes in a textbook style without biases)."""
    losses = tuple(loss for loss in student.losses if loss not in student.style.unstable_losses)
    return replace(student, losses=losses) if losses else None


def _writes(
    mistake: str,
    applies: Callable[[Style], bool] = lambda style: True,
    *,
    hidden: tuple[str, ...] = ("relu", "sigmoid", "tanh"),
    losses: tuple[str, ...] = ("mse", "cce"),
    **knobs: Any,
) -> Injector:
    """An injector that turns ``knobs`` in every style ``applies`` to."""

    def inject(style: Style) -> Student | None:
        if not applies(style):
            return None
        return _shown_alone(Student(style, mistake, Bugs(**knobs), hidden, losses))

    return inject


def _wrong_activation_derivative(style: Style) -> Student | None:
    activation = _rotate(style, ("tanh", "sigmoid"))
    bugs = Bugs(hidden_fprime="wrong", wrong_fprime_of=activation)
    student = Student(style, "wrong_activation_derivative", bugs, (activation,), ("cce",))
    return _shown_alone(student)


def _scaled_gradient_tensor(style: Style) -> Student | None:
    """dW1 or db1 scaled (dW1 in a network without biases, which has no db1)."""
    tensors = ("dW1", "db1") if style.has_biases else ("dW1",)
    scaled = (_rotate(style, tensors), _rotate(style, (2.0, 0.5, 3.0)))
    student = Student(style, "scaled_gradient_tensor", Bugs(scaled=scaled), losses=("mse", "cce"))
    return _shown_alone(student)


def _unstable_output_delta(style: Style) -> Student | None:
    if style.unstable_outputs:
        return None  # already so: the correct corpus expects it
    textbook = _rotate(style, ("textbook_delta", "clipped_textbook_delta"))
    # The instability itself, on bce (where it shows with biases or without).
    return Student(
        replace(style, output_delta=textbook), "unstable_output_delta", losses=("bce",)
    )


def _numerical_differentiation(style: Style) -> Student | None:
    """Differences are meaningful only through a float64 forward; the complex
    step needs one that takes complex numbers (np.logaddexp does not)."""
    if style.dtype != "float64":
        return None
    methods = ("central", "complex_step") if style.sigmoid != "sigmoid_logaddexp" else ("central",)
    bugs = Bugs(numerical=_rotate(style, methods))
    return _shown_alone(Student(style, "numerical_differentiation", bugs, losses=("mse",)))


def _bias_not_summed_over_batch(style: Style) -> Student | None:
    """db keeping the batch axis (per example: the last example's δ alone), or
    summed over the units (axis 0 for columns) instead. Only the per-example
    form fits a buffer's views; summing over units has no per-example form.
    A network without biases has no db to get wrong."""
    per_example = style.traversal == "per_example"
    if not style.has_biases or (_buffered(style) and not per_example):
        return None
    bugs = Bugs(db_form="kept" if per_example else _rotate(style, ("kept", "units")))
    hidden, losses = ("relu", "sigmoid", "tanh"), ("mse", "cce")
    return _shown_alone(Student(style, "bias_not_summed_over_batch", bugs, hidden, losses))


def _buffered(style: Style) -> bool:
    return style.storage == "buffer_views"


def _fused(style: Style) -> bool:
    return style.output_delta == "fused_delta"


#: Mistake id → how it is written into a style.
INJECTORS: dict[str, Injector] = {
    # The bias left out of z: a network without biases has none to leave out.
    "forward_mismatch": _writes("forward_mismatch", lambda s: s.has_biases, forward_bias=False),
    # np.logaddexp has no complex loop: a complex z raises there instead.
    "complex_forward": _writes(
        "complex_forward", lambda s: s.sigmoid != "sigmoid_logaddexp", complex_forward=True
    ),
    "unstable_softmax": _writes("unstable_softmax", losses=("cce",), softmax_stable=False),
    # A buffer, or the per-example sums, hold every layer's gradient from the start.
    "missing_gradients": _writes(
        "missing_gradients",
        lambda s: not _buffered(s) and s.traversal != "per_example",
        lowest_layer=2,
    ),
    "output_delta_sign": _writes("output_delta_sign", flipped_sign=True),
    "mse_missing_factor_two": _writes("mse_missing_factor_two", losses=("mse",), mse_two=False),
    "output_activation_derivative_applied_twice": _writes(
        "output_activation_derivative_applied_twice",
        _fused,
        losses=("bce", "cce"),
        output_fprime_twice=True,
    ),
    "batch_mean_missing": _writes("batch_mean_missing", batch_mean="never"),
    "batch_mean_applied_twice": _writes("batch_mean_applied_twice", batch_mean="twice"),
    # A misshapen gradient cannot be written into a view of its parameter's shape.
    "transposed_weight_gradient": _writes(
        "transposed_weight_gradient", lambda s: not _buffered(s), transposed_dW=True
    ),
    "bias_not_summed_over_batch": _bias_not_summed_over_batch,
    "missing_activation_derivative": _writes("missing_activation_derivative", hidden_fprime="none"),
    "activation_derivative_of_output": _writes(
        "activation_derivative_of_output", hidden=("sigmoid", "tanh"), hidden_fprime="at_a"
    ),
    "wrong_activation_derivative": _wrong_activation_derivative,
    # With dA⁽ˡ⁻¹⁾ computed at every layer, W⁽ˡ⁻¹⁾ at layer 1 is a KeyError on every call.
    "wrong_layer_in_recurrence": _writes(
        "wrong_layer_in_recurrence", lambda s: s.extra_keys != "extra_dA", recurrence_W="same_layer"
    ),
    "gradient_not_propagated": _writes("gradient_not_propagated", propagated=False),
    # The misshapen gradient is a db of shape (n,): not in a buffer's views, nor
    # without biases.
    "wrong_gradient_shape": _writes(
        "wrong_gradient_shape", lambda s: s.has_biases and not _buffered(s), db_form="flat"
    ),
    "params_mutated": _writes(
        "params_mutated", lambda s: s.update == "with_update", update_in_place=True
    ),
    # ŷ − y written into Y: only where Y is the caller's array (not a float32 copy).
    "inputs_mutated": _writes(
        "inputs_mutated",
        lambda s: _fused(s) and not casts_backward(s),
        losses=("mse", "bce"),
        overwrite_Y=True,
    ),
    # Only sums accumulate: the per-example traversal adds into its arrays.
    "gradient_accumulates_across_calls": _writes(
        "gradient_accumulates_across_calls",
        lambda s: s.traversal == "per_example",
        persistent_sums=True,
    ),
    # Propagating ∂L/∂ŷ instead of δ⁽ᴸ⁾ needs the output layer written out of the loop.
    "output_derivative_missing_in_recurrence": _writes(
        "output_derivative_missing_in_recurrence",
        lambda s: s.output_layer == "output_peeled",
        losses=("mse",),
        output_fprime_in_recurrence=False,
    ),
    "scaled_gradient_tensor": _scaled_gradient_tensor,
    # An update inside the per-example loop is another mistake (one step per example).
    "update_before_propagation": _writes(
        "update_before_propagation", lambda s: s.traversal != "per_example", recurrence_W="updated"
    ),
    "untransposed_weight_in_recurrence": _writes(
        "untransposed_weight_in_recurrence", recurrence_W="untransposed"
    ),
    "softmax_diagonal_derivative": _writes(
        "softmax_diagonal_derivative", losses=("cce",), softmax_diagonal=True
    ),
    # Float gradients truncate silently only when written into an int buffer (+= raises).
    "integer_gradients": _writes(
        "integer_gradients",
        lambda s: _buffered(s) and s.traversal != "per_example",
        buffer_dtype="int",
    ),
    # A complex buffer or accumulator takes float gradients whole, by += or by assignment.
    "complex_gradients": _writes(
        "complex_gradients",
        lambda s: _buffered(s) or s.traversal == "per_example",
        buffer_dtype="complex",
    ),
    "unstable_output_delta": _unstable_output_delta,
    "numerical_differentiation": _numerical_differentiation,
}

#: The ids the lead is adding to the catalogue (issue 7), recognisers to come.
NEW_MISTAKES = (
    "output_derivative_missing_in_recurrence",
    "scaled_gradient_tensor",
    "update_before_propagation",
    "untransposed_weight_in_recurrence",
    "softmax_diagonal_derivative",
    "integer_gradients",
    "unstable_output_delta",
    "numerical_differentiation",
)

#: Mistakes only an API that takes an L2 strength (CS231n's ``reg``) can make:
#: the functional styles have none, so tests/adapters/test_regularisation.py
#: writes each into a course-style net instead.
COURSE_API_MISTAKES = frozenset(
    {
        "regularisation_gradient_missing",
        "regularisation_gradient_doubled",
        "regularisation_gradient_unmatched",
    }
)


def inject(mistake: str, style: Style) -> Student | None:
    """``style`` with ``mistake`` written in; None where it cannot occur."""
    return INJECTORS[mistake](style)


def uninjectable(ids: Collection[str]) -> list[str]:
    """The mistake ids among ``ids`` that have no injector."""
    return sorted(set(ids) - set(INJECTORS))


def injections(styles: Collection[Style], per_mistake: int) -> Iterator[Student]:
    """Each mistake in ``per_mistake`` of ``styles`` it applies to, rotating
    through ``styles`` so that consecutive mistakes meet different ones."""
    ordered = list(styles)
    for number, mistake in enumerate(INJECTORS):
        start = number * per_mistake
        found = 0
        for offset in range(len(ordered)):
            student = inject(mistake, ordered[(start + offset) % len(ordered)])
            if student is not None:
                yield student
                found += 1
                if found == per_mistake:
                    break
