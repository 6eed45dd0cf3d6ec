"""Everything a recogniser may look at for one failing check, computed on demand.

The evidence re-runs the student on the failing case (three backward calls on
one forward), so that it sees the forward output, any arguments changed in
place, and whether calls carry state, whatever check failed. Gradient-level
facts are only offered when the forward pass is right and the gradients are
the student's own (fresh) ones.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Array, Case, gradient_name
from bpcheck._numerics import real_arrays, relative_error
from bpcheck._sandbox.calls import ForwardCall, Reply, StudentError, UpdateCall
from bpcheck._student import Student
from bpcheck.checks._base import reference_gradients
from bpcheck.checks._context import gradient_call
from bpcheck.checks._precision import FLOAT32, judgement
from bpcheck.checks.regularisation import Penalty, measure
from bpcheck.checks.stability import scaled_output_weights
from bpcheck.diagnosis._cases import DEEPER_HIDDEN, deeper_case, variant_case
from bpcheck.diagnosis._explain import Explanation, Observation, explain, one_scaled, replay
from bpcheck.diagnosis._probe import Reading, read_derivative
from bpcheck.diagnosis._timing import Timed, timed_cost

#: How closely a mutant must reproduce float64 gradients (float32: the float32 tolerance).
FLOAT64_MATCH = 1e-6

ForwardVerdict = Literal["ok", "overflow", "mismatch"]


@dataclass(frozen=True)
class Accumulation:
    """Three backward calls on one cache returned ``returned``; each added ``increment``."""

    returned: tuple[dict[str, Array], ...]
    increment: dict[str, Array]


@dataclass(frozen=True)
class Values:
    """What the gradient values show: the explanations with the fewest mistakes
    that survived a second case (``confirmed`` None when it could not be run)."""

    explanations: tuple[Explanation, ...]
    confirmed: bool | None

    @property
    def agrees(self) -> bool:
        return len(self.explanations) == 1 and not self.explanations[0].mistakes()

    @property
    def mistakes(self) -> dict[str, tuple[int, ...]]:
        """The mistakes every surviving explanation agrees on; empty when they differ."""
        sets = {frozenset(explanation.mistakes()) for explanation in self.explanations}
        if len(sets) != 1:
            return {}
        return self.explanations[0].mistakes()


class Evidence:
    """One failing check, and facts a recogniser may ask for, each computed once on demand.

    Given: ``check`` (the failing check's id), ``case`` (its counterexample, or
    None), ``message`` (the check's), ``student`` (to make further calls).

    On demand: ``forward`` ("ok", "overflow" or "mismatch"), ``own_AL`` (the
    student's AL, from forward() alone when backward raises; ``complex_AL``
    when it is complex, and whether its real part is right), ``gradients`` (the
    student's own for ``case``, None when the forward pass is wrong),
    ``expected`` (the reference's), ``missing`` (keys not returned),
    ``mutated`` (arguments changed in place), ``accumulation`` (a running sum
    across calls), ``values`` (the known mistakes that reproduce the gradients,
    checked on a second case), ``scaled_alone`` (one gradient a constant times
    the reference's, on both cases), ``scaled_alone_deeper`` (the gradient a
    deeper case shows scaled alone, where the case has only one), ``divergence()``
    (the gradients that differ, from layer L down), ``derivative(activation)``
    (the derivative probe), ``penalty`` (the L2 terms, for the regularisation
    check) and ``timed`` (what backward costs, timed as backprop_cost times it).
    """

    def __init__(self, check: str, case: Case | None, message: str, student: Student) -> None:
        self.check, self.case, self.message, self.student = check, case, message, student

    # ------------------------------------------------------------ the calls

    @cached_property
    def reply(self) -> Reply | None:
        """Forward, then backward three times on the same cache, for the failing
        case; once only if the student cannot do that (a backward that consumes
        its cache, e.g. with caches.pop()); None if it raises even then."""
        if self.case is None:
            return None
        for calls in (3, 1):
            reply = self.student.call(gradient_call(self.case, backward_calls=calls))
            if reply.error is None:
                return reply
            self.raised = reply.error
        return None

    #: What the student's code raised on the failing case, when :attr:`reply` is None,
    #: and on the second case, when :attr:`second_observation` is None.
    raised: StudentError | None = None
    second_raised: StudentError | None = None

    @cached_property
    def penalty(self) -> Penalty | None:
        """The L2 terms of the student's loss and gradients on the failing case
        of the ``regularisation`` check, measured again; None for other checks."""
        if self.check != "regularisation" or self.case is None:
            return None
        return measure(self.student, self.case)

    @property
    def timed(self) -> Timed | None:
        """What forward and backward together cost, in forward passes, on the
        failing case's network grown as wide as backprop_cost's (see
        :func:`~bpcheck.diagnosis._timing.timed_cost`); None when the code
        raises there."""
        return None if self.case is None else timed_cost(self.student, self.case)

    @cached_property
    def expected(self) -> dict[str, Array]:
        """The reference's gradients for the failing case."""
        assert self.case is not None
        return reference_gradients(self.case)[1]

    @cached_property
    def tolerance(self) -> float:
        if self.reply is None or not self.reply.gradients:
            return FLOAT64_MATCH
        reply = self.reply
        arrays = (*([reply.AL] if reply.AL is not None else []), *reply.grads.values())
        found = judgement(arrays, reply.cache_dtypes, reply.AL, self.case)
        return FLOAT32.exact if found.precision is FLOAT32 else FLOAT64_MATCH

    # --------------------------------------------------------- the forward pass

    @cached_property
    def second_case(self) -> Case:
        """A fresh, larger case for the same activations and loss (:func:`variant_case`)."""
        assert self.case is not None
        return variant_case(self.case)

    @cached_property
    def forward(self) -> ForwardVerdict | None:
        """ "ok" when AL matches the reference; "overflow" when a softmax output is
        wrong only at large logits (right once they are shifted down); "mismatch"
        when it is wrong on the failing case or on :attr:`second_case` (a
        saturated counterexample can hide a wrong forward pass); None when the
        student could not be run."""
        if self.reply is None or self.reply.AL is None or self.case is None:
            return None
        if self.forward_case is self.case and self.case.architecture.activations[-1] == "softmax":
            shifted = _logits_shifted_down(self.case)
            AL = self._forward_output(shifted)
            if AL is not None and self._forward_matches(shifted, AL):
                return "overflow"
        return "ok" if self.forward_case is None else "mismatch"

    @cached_property
    def forward_case(self) -> Case | None:
        """The failing case if the student's AL is wrong there, else the second
        case if it is wrong there, else None."""
        assert self.case is not None and self.reply is not None and self.reply.AL is not None
        if not self._forward_matches(self.case, self.reply.AL):
            return self.case
        AL = self._second_forward
        if AL is not None and not self._forward_matches(self.second_case, AL):
            return self.second_case
        return None

    @cached_property
    def _second_forward(self) -> Array | None:
        """The student's AL on :attr:`second_case`, asked for once."""
        return self._forward_output(self.second_case)

    @cached_property
    def own_AL(self) -> Array | None:
        """The student's AL on the failing case: the reply's, or when backward
        raised there, forward()'s alone; None when forward raises too."""
        if self.case is None:
            return None
        if self.reply is not None and self.reply.AL is not None:
            return self.reply.AL
        return self._forward_output(self.case)

    @cached_property
    def complex_AL(self) -> Array | None:
        """:attr:`own_AL` when it is complex, else None."""
        AL = self.own_AL
        return AL if AL is not None and AL.dtype.kind == "c" else None

    @cached_property
    def complex_AL_real_part_right(self) -> bool:
        """Whether :attr:`complex_AL`'s real part is the reference's AL (only
        its type is wrong then)."""
        assert self.case is not None and self.complex_AL is not None
        return self._forward_matches(self.case, self.complex_AL.real)

    def _forward_output(self, case: Case) -> Array | None:
        reply = self.student.call(ForwardCall(case.params, case.X, case.architecture.activations))
        return reply.AL if reply.error is None else None

    def _forward_matches(self, case: Case, AL: Array) -> bool:
        expected, _ = reference.forward(case.params, case.X, case.architecture.activations)
        return forward_matches(AL, expected, self.tolerance)

    @cached_property
    def forward_error(self) -> float | None:
        """Relative error of the student's AL against the reference's on :attr:`forward_case`."""
        case = self.forward_case if self.forward == "mismatch" else None
        if case is None or self.reply is None:
            return None
        AL = self.reply.AL if case is self.case else self._second_forward
        if AL is None:
            return None
        expected, _ = reference.forward(case.params, case.X, case.architecture.activations)
        return relative_error(AL, expected) if AL.shape == expected.shape else None

    # ------------------------------------------------------------ behaviour

    @cached_property
    def mutated(self) -> tuple[str, ...]:
        """Arguments forward/backward (and update, when present) changed in place."""
        found = list(self.reply.mutated) if self.reply is not None else []
        if self.case is not None and "update" in self.student.api.optional:
            reply = self.student.call(UpdateCall(self.case.params, self.expected, 0.1))
            found += [f"{part} (in update())" for part in reply.mutated]
        return tuple(found)

    @cached_property
    def accumulation(self) -> Accumulation | None:
        """Set when each backward call on the same cache adds the same nonzero
        amount, while the arguments stay untouched (otherwise the change from
        call to call may come from the arguments changed in place)."""
        if self.reply is None or len(self.reply.gradients) < 3 or self.reply.mutated:
            return None
        first, second, third = (
            real_arrays(grads, self.expected) for grads in self.reply.gradients[:3]
        )
        keys = [
            k
            for k in self.expected
            if k in first
            and k in second
            and k in third
            and first[k].shape == second[k].shape == third[k].shape
        ]
        increment = {key: second[key] - first[key] for key in keys}
        if not keys or all(
            np.allclose(value, 0.0, rtol=0, atol=1e-300) for value in increment.values()
        ):
            return None
        steady = all(
            relative_error(third[key] - second[key], increment[key]) <= self.tolerance
            for key in keys
        )
        return Accumulation((first, second, third), increment) if steady else None

    # ------------------------------------------------------------ the gradients

    @cached_property
    def gradients(self) -> dict[str, Array] | None:
        """The student's own real gradients for the failing case, keyed like the
        reference's: what one call adds when calls accumulate, else what the
        first backward call on a fresh forward returned (complex ones left out:
        see :func:`~bpcheck._numerics.real_arrays`); None when the forward pass
        is wrong or the student raised."""
        if self.forward != "ok" or self.reply is None:
            return None
        if self.accumulation:  # keyed like the reference's already
            return dict(self.accumulation.increment)
        return real_arrays(self.reply.grads, self.expected)

    @cached_property
    def missing(self) -> list[str]:
        """Gradient keys the contract asks for that backward() did not return."""
        if self.reply is None or not self.reply.gradients or self.case is None:
            return []
        names = [gradient_name(name) for name in self.case.architecture.parameter_shapes()]
        return [key for key in names if key not in self.reply.grads]

    @cached_property
    def values(self) -> Values | None:
        """The known mistakes that reproduce the gradients, on the failing case
        and on a second one. The failing case is small, so several mistakes can
        look alike there (one unit, one example); when none of its explanations
        survives the second case, the second case is explained in its turn and
        must then reproduce the failing one."""
        if self.gradients is None or not self.gradients or self.case is None:
            return None
        first = Observation(self.case, self.gradients)
        found = explain(first, self.tolerance)
        if not found or not found[0].mistakes():
            return Values(tuple(found), None)
        second = self.second_observation
        if second is None:
            return Values(tuple(found), None)
        kept = _replayed(found, second, self.tolerance)
        if not kept:
            kept = _replayed(explain(second, self.tolerance), first, self.tolerance)
        uniform = any(explanation.uniform for explanation in kept)
        if uniform and self.scaled_alone_deeper is not None:  # one tensor's factor, not all's
            kept = tuple(explanation for explanation in kept if not explanation.uniform)
        return Values(kept, bool(kept))

    @cached_property
    def second_observation(self) -> Observation | None:
        """The student's gradients on :attr:`second_case`; what one call adds if
        calls accumulate; None if the student raised there."""
        observation, self.second_raised = self._observe(self.second_case)
        return observation

    @cached_property
    def scaled_alone(self) -> tuple[str, float] | None:
        """(key, c) when exactly one gradient is c ≠ 0 times the reference's and
        every other is right, on the failing case and again, with the same key
        and c, on :attr:`second_case`; None otherwise.

        Without biases and with one hidden layer, an f′ written as c times the
        right one scales dW1 alone too. There the student is also run with that
        hidden layer doubled (:func:`deeper_case`), where such an f′ scales two
        tensors (dW2 by c, dW1 by c²) and a scaled tensor still one; None when
        it scales more than one."""
        first = self._scaled_here
        second = self.second_observation if first is not None else None
        again = one_scaled(second, self.tolerance) if second is not None else None
        if first is None or again is None or again[0] != first[0]:
            return None
        if not same_factor(again[1], first[1], self.tolerance):
            return None
        assert self.case is not None
        architecture = self.case.architecture
        if first[0] == "dW1" and architecture.depth == 2 and not architecture.biases:
            doubled = self._scaled_deeper((architecture.activations[0],))
            if doubled is not None and doubled[0] is None:  # the factor is on more than dW1
                return None
        return first

    @cached_property
    def scaled_alone_deeper(self) -> tuple[str, Case] | None:
        """Where the failing case has one gradient tensor (a one-layer network
        without biases: dW1), the reference's times a constant c: the one
        gradient of a :func:`deeper_case` that is c times the reference's there,
        every other gradient right (dW1 again, or the output layer's dW2), and
        that case; None otherwise, and when the student's code raises on every
        hidden layer tried. A uniform factor (the 2 of mse, the sign of δ) would
        scale every tensor there: one tensor cannot tell the two apart, two
        layers can."""
        if self.gradients is None or len(self.gradients) != 1 or self._scaled_here is None:
            return None
        deeper = self._scaled_deeper(DEEPER_HIDDEN)
        if deeper is None or deeper[0] is None:
            return None
        return deeper[0], deeper[1]

    @cached_property
    def _scaled_here(self) -> tuple[str, float] | None:
        """:func:`one_scaled` on the failing case."""
        if self.case is None or self.gradients is None:
            return None
        return one_scaled(Observation(self.case, self.gradients), self.tolerance)

    def _scaled_deeper(self, hidden: Sequence[str]) -> tuple[str | None, Case] | None:
        """On the first :func:`deeper_case` (a hidden layer of each of ``hidden``
        in turn) that the student's code runs with a right forward pass: the one
        gradient that is c times the reference's there, c the failing case's
        factor, every other right (None when there is no such gradient), and that
        case. None when the code raises, or computes a wrong forward pass, on
        every one."""
        assert self.case is not None and self._scaled_here is not None
        factor = self._scaled_here[1]
        for activation in hidden:
            case = deeper_case(self.case, activation)
            observation, _ = self._observe(case, forward_right=True)
            if observation is None:
                continue
            there = one_scaled(observation, self.tolerance)
            if there is None or not same_factor(there[1], factor, self.tolerance):
                return None, case
            return there[0], case
        return None

    def _observe(
        self, case: Case, *, forward_right: bool = False
    ) -> tuple[Observation | None, StudentError | None]:
        """The student's gradients on ``case`` (what one call adds, if calls
        accumulate), or what it raised there; with ``forward_right``, None too
        where its forward pass is wrong there (code that computes another
        activation than the one asked for)."""
        calls = 2 if self.accumulation else 1
        reply = self.student.call(gradient_call(case, backward_calls=calls))
        if reply.error is not None or len(reply.gradients) < calls:
            return None, reply.error
        if forward_right and (reply.AL is None or not self._forward_matches(case, reply.AL)):
            return None, None
        keys = reference_gradients(case)[1]
        first, last = (real_arrays(reply.gradients[i], keys) for i in (0, -1))
        grads = {k: last[k] - first[k] for k in first if k in last} if self.accumulation else first
        return Observation(case, grads), None

    def divergence(self) -> list[tuple[int, str, float | None]]:
        """(layer, gradient key, relative error) for the gradients that differ from
        the reference, from layer L down; the error is None for a misshapen one."""
        if self.gradients is None:
            return []
        rows = []
        for key in sorted(self.expected, key=lambda k: (-int(k[2:]), k)):
            if key not in self.gradients:
                continue
            got, want = self.gradients[key], self.expected[key]
            error = relative_error(got, want) if got.shape == want.shape else None
            if error is None or error > self.tolerance:
                rows.append((int(key[2:]), key, error))
        return rows

    # ------------------------------------------------------------ probes

    def derivative(self, activation: str) -> Reading | None:
        """The student's f′ of ``activation`` read by the derivative probe (cached)."""
        if activation not in self._readings:
            assert self.case is not None
            architecture = self.case.architecture
            self._readings[activation] = read_derivative(
                self.student, activation, architecture.activations[-1], architecture.loss, architecture.biases
            )
        return self._readings[activation]

    @cached_property
    def _readings(self) -> dict[str, Reading | None]:
        return {}


_EVIDENCE: weakref.WeakKeyDictionary[Case, dict[int, Evidence]] = weakref.WeakKeyDictionary()


def evidence_for(check: str, case: Case | None, message: str, student: Student) -> Evidence:
    """The evidence of ``check``'s failure on ``case``. Its facts depend on the
    case and the student only, so every check that fails on the same case
    shares one :class:`Evidence` (the calls and the search for explanations are
    made once); ``check`` and ``message`` name the failure diagnosed now."""
    if case is None:
        return Evidence(check, case, message, student)
    by_student = _EVIDENCE.setdefault(case, {})
    evidence = by_student.get(id(student))
    if evidence is None:
        evidence = by_student[id(student)] = Evidence(check, case, message, student)
    evidence.check, evidence.message = check, message
    return evidence


def forward_matches(AL: Array, expected: Array, tolerance: float) -> bool:
    """Whether a student's AL is the reference's: same shape, finite, within ``tolerance``."""
    return (
        AL.shape == expected.shape
        and AL.dtype.kind != "c"
        and bool(np.all(np.isfinite(AL)))
        and relative_error(AL, expected) <= tolerance
    )


def _replayed(
    explanations: list[Explanation], observation: Observation, tolerance: float
) -> tuple[Explanation, ...]:
    """The explanations that also reproduce ``observation``, narrowed by it."""
    replayed = (replay(explanation, observation, tolerance) for explanation in explanations)
    return tuple(explanation for explanation in replayed if explanation is not None)


def _logits_shifted_down(case: Case) -> Case:
    """``case`` at ordinary logits: the output biases shifted so the largest is
    0 (softmax is unchanged), or, without biases, the output weights scaled
    down until the largest |logit| is 1."""
    if not case.architecture.biases:
        return scaled_output_weights(case, 1.0)
    params = dict(case.params)
    name = f"b{case.architecture.depth}"
    params[name] = params[name] - params[name].max()
    return case.with_params(params)


def same_factor(a: float, b: float, tolerance: float) -> bool:
    """Whether two fitted factors are one: to 1e-6 for float64 gradients, 1e-3 for float32."""
    close = 1e-6 if tolerance < 1e-5 else 1e-3
    return abs(a - b) <= close * max(abs(a), abs(b), 1.0)
