"""What a check body may call: :class:`CheckContext`.

Every call into the student goes through the context, which remembers each
reply for the case being checked: checks that share a case share the
student's replies too (one forward and backward serve gradient_shapes,
gradient_values, finite_differences, no_mutation and repeatable), and the
calls a case needs are sent together (:meth:`CheckContext.prefetch`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from bpcheck._contract import Array, Case, Family, gradient_name
from bpcheck._memo import per_case
from bpcheck._scope import Scope
from bpcheck._sandbox.calls import (
    Call,
    DirectionProbe,
    ForwardCall,
    GradientCall,
    Reply,
    StudentError,
)
from bpcheck._student import Student
from bpcheck.checks._base import CheckFailure, CheckNotJudged
from bpcheck.checks._precision import Judgement, Precision, judgement

def student_error_failure(error: StudentError, case: Case | None) -> CheckFailure:
    return CheckFailure(error.summary, case=case, status="error", traceback=error.traceback)


CallKey = tuple[Any, ...]


def call_key(call: Call) -> CallKey:
    """What tells two requests apart: their kind and fields, with every array
    (and a probe's directions) counted by identity. Equal keys are equal
    requests; two requests built from the same case's arrays (the case's own,
    the cases derived from it once with :func:`bpcheck._memo.per_case`, the
    reference's results for it) get equal keys, which is how a case's checks
    share a reply. Counting arrays by identity is safe: the context keeps every
    request it keyed alive, so no id is reused while it remembers it."""

    def key(value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:  # most leaves: names, numbers (told by exact type, and fast)
            return value
        if kind is np.ndarray or isinstance(value, np.ndarray):
            return ("array", id(value))
        if isinstance(value, DirectionProbe):
            return ("probe", id(value.direction), value.step)
        if isinstance(value, dict):
            return ("dict", tuple((name, key(item)) for name, item in value.items()))
        if isinstance(value, (tuple, list)):
            return ("seq", tuple(key(item) for item in value))
        if is_dataclass(value) and not isinstance(value, type):
            names = _field_names(type(value))
            return (type(value).__name__, tuple(key(getattr(value, name)) for name in names))
        return value

    return key(call)  # type: ignore[no-any-return]


#: Leaves that key as themselves, by exact type.
_PLAIN = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names (``dataclasses.fields`` is slow to ask each time)."""
    return tuple(spec.name for spec in fields(kind))


@per_case
def _gradient_calls(case: Case) -> dict[int, GradientCall]:
    return {}


def gradient_call(case: Case, backward_calls: int = 1) -> GradientCall:
    """The student's forward on ``case``, then ``backward_calls`` backward calls
    on its cache (the same request object each time it is asked for)."""
    calls = _gradient_calls(case)
    if backward_calls not in calls:
        architecture = case.architecture
        calls[backward_calls] = GradientCall(
            case.params, case.X, case.Y, architecture.activations, architecture.loss, backward_calls
        )
    return calls[backward_calls]


def shared_call(case: Case) -> GradientCall:
    """The forward and backward call on ``case`` that every check of it shares."""
    return gradient_call(case)


@dataclass
class CheckContext:
    """The student, the family under test, and the calls a check body may make.

    ``scope`` lists every family the run covers (the assignment's activations
    and losses); ``assignment`` is the whole scope the networks are drawn
    from (depth, widths, labels). ``notes`` collects remarks for the report,
    e.g. that results were judged at float32 tolerance. Replies are
    remembered until :meth:`forget` (the end of a case).
    """

    student: Student
    family: Family | None
    scope: tuple[Family, ...]
    assignment: Scope = field(default_factory=Scope)
    notes: set[str] = field(default_factory=set)
    #: The precision the run's first judged case showed, kept across cases: to
    #: ask for a later case's precision-dependent calls before its reply comes.
    precision_hint: Precision | None = None
    #: Replies by request key, each with its request: keeping the request alive
    #: keeps the ids of its large arrays from being reused while it is remembered.
    _replies: dict[CallKey, tuple[Call, Reply]] = field(default_factory=dict, repr=False)
    #: Keys by request object, each with its request (alive, so its id stays its own).
    _keys: dict[int, tuple[Call, CallKey]] = field(default_factory=dict, repr=False)
    #: What was worked out about a reply, by (what, id of the reply), with the reply.
    _about: dict[tuple[str, int], tuple[Reply, Any]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- calls

    def _key(self, request: Call) -> CallKey:
        """:func:`call_key` of ``request``, computed once per request object."""
        known = self._keys.get(id(request))
        if known is None:
            known = self._keys[id(request)] = (request, call_key(request))
        return known[1]

    def prefetch(self, requests: Sequence[Call]) -> None:
        """Send every request not answered yet, in one batch."""
        pending: dict[CallKey, Call] = {}
        for request in requests:
            key = self._key(request)
            if key not in self._replies:
                pending.setdefault(key, request)
        if pending:
            replies = self.student.call_many(list(pending.values()))
            for (key, request), reply in zip(pending.items(), replies, strict=True):
                self._replies[key] = (request, reply)

    def forget(self) -> None:
        """Drop the remembered replies: the next case starts afresh."""
        self._replies.clear()
        self._keys.clear()
        self._about.clear()

    def reply(self, request: Call) -> Reply:
        """The student's reply to ``request``, sent now unless already answered."""
        key = self._key(request)
        if key not in self._replies:
            self._replies[key] = (request, self.student.call(request))
        return self._replies[key][1]

    def call(self, request: Call, case: Case | None) -> Reply:
        """The reply to ``request``; a CheckFailure with the student's traceback if it failed."""
        reply = self.reply(request)
        if reply.error is not None:
            raise student_error_failure(reply.error, case)
        return reply

    def call_optional(self, request: Call, case: Case) -> Reply | None:
        """Like :meth:`call` for an optional function; None while it still raises
        NotImplementedError, as the starter template's do."""
        reply = self.reply(request)
        if reply.error is not None and reply.error.exception == "NotImplementedError":
            return None
        if reply.error is not None:
            raise student_error_failure(reply.error, case)
        return reply

    def gradients(self, case: Case, backward_calls: int = 1) -> Reply:
        """The student's forward then ``backward_calls`` backward calls on ``case``."""
        return self.call(gradient_call(case, backward_calls), case)

    def shared(self, case: Case) -> Reply:
        """The reply every check of ``case`` shares: forward, then backward."""
        return self.call(shared_call(case), case)

    def forward(self, case: Case) -> Array:
        """The student's AL for ``case``."""
        reply = self.call(ForwardCall(case.params, case.X, case.architecture.activations), case)
        assert reply.AL is not None
        return reply.AL

    # ---------------------------------------------------------------- judging

    def _once(self, what: str, reply: Reply, work: Callable[[], Any]) -> Any:
        """``work()``, done once per reply until :meth:`forget`: every check of a
        case asks the same about the reply they share."""
        key = (what, id(reply))
        if key not in self._about:
            self._about[key] = (reply, work())
        return self._about[key][1]

    def judge(self, reply: Reply, case: Case) -> Precision:
        """The precision to judge ``reply`` (the student's reply for ``case``) at
        (see :func:`judgement`), noted in the report when lowered."""

        def judged() -> Judgement:
            arrays = tuple(value for grads in reply.gradients[:1] for value in grads.values())
            if reply.AL is not None:
                arrays = (reply.AL, *arrays)
            return judgement(arrays, reply.cache_dtypes, reply.AL, case)

        return self._noted(self._once("judgement", reply, judged))

    def judge_arrays(self, *arrays: Array, case: Case | None = None) -> Precision:
        """The precision to judge ``arrays`` at: from their dtypes, and with
        ``case``, from how far the first (an AL) departs from the reference's."""
        return self._noted(judgement(arrays, (), arrays[0] if case else None, case))

    def _noted(self, found: Judgement) -> Precision:
        if found.reason is not None:
            self.notes.add(found.reason)
        return found.precision

    def usable_gradients(self, reply: Reply, case: Case, *, finite: bool = True) -> dict[str, Array]:
        """The contract's gradients in ``reply`` (extra keys left out), or
        :class:`CheckNotJudged` when any is missing, not a floating numpy
        array of its parameter's shape, or (with ``finite``) not finite:
        ``gradient_shapes`` reports that, once."""
        grads: dict[str, Array] | None = self._once(
            f"usable{finite}", reply, lambda: self._usable(reply, case, finite)
        )
        if grads is None:
            raise CheckNotJudged(
                "not judged: backward() returns gradients that break the contract "
                f"(see {self.result_name('gradient_shapes')})"
            )
        return grads

    def result_name(self, check_id: str) -> str:
        """The name of ``check_id``'s result for this context's family: ``gradient_shapes[relu-mse]``."""
        return f"{check_id}[{self.family.id}]" if self.family is not None else check_id

    @staticmethod
    def _usable(reply: Reply, case: Case, finite: bool) -> dict[str, Array] | None:
        grads: dict[str, Array] = {}
        for name, shape in case.architecture.parameter_shapes().items():
            key = gradient_name(name)
            value = reply.grads.get(key)
            usable = (
                value is not None
                and key not in reply.returned_types
                and value.shape == shape
                and value.dtype.kind == "f"
                and (not finite or bool(np.all(np.isfinite(value))))
            )
            if not usable:
                return None
            assert value is not None
            grads[key] = value
        return grads
