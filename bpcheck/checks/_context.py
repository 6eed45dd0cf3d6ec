"""What a check body may call: :class:`CheckContext`.

Every call into the student goes through the context, which remembers each
reply for the case being checked: checks that share a case share the
student's replies too (one forward and backward serve gradient_shapes,
gradient_values, finite_differences, no_mutation and repeatable), and the
calls a case needs are sent together (:meth:`CheckContext.prefetch`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from bpcheck._contract import Array, Case, Family, gradient_name
from bpcheck._memo import per_case
from bpcheck._scope import Scope
from bpcheck._sandbox.calls import Call, ForwardCall, GradientCall, Reply, StudentError
from bpcheck._student import Student
from bpcheck.checks._base import CheckFailure, CheckNotJudged
from bpcheck.checks._precision import Judgement, Precision, judgement

def student_error_failure(error: StudentError, case: Case | None) -> CheckFailure:
    return CheckFailure(error.summary, case=case, status="error", traceback=error.traceback)


#: Arrays larger than this are told apart by identity, not content, in :func:`call_key`.
IDENTIFIED_BY_OBJECT = 4096


def call_key(call: Call) -> bytes:
    """A digest of everything in ``call``: equal requests get equal keys.

    Small arrays count by their content; large ones (a parameter of a real
    course's network) by identity, which is what a case's checks share anyway:
    the case's own arrays, and the cases derived from it once (:func:`bpcheck._memo.per_case`).
    """
    digest = hashlib.blake2b(digest_size=20)

    def add(value: Any) -> None:
        if isinstance(value, np.ndarray):
            digest.update(f"a{value.dtype.str}{value.shape}".encode())
            if value.size > IDENTIFIED_BY_OBJECT:
                digest.update(f"@{id(value)}".encode())
            else:
                digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, dict):
            digest.update(b"{")
            for key, item in value.items():
                add(key)
                add(item)
            digest.update(b"}")
        elif isinstance(value, (tuple, list)):
            digest.update(b"(")
            for item in value:
                add(item)
            digest.update(b")")
        elif is_dataclass(value) and not isinstance(value, type):
            digest.update(type(value).__name__.encode())
            for spec in fields(value):
                add(getattr(value, spec.name))
        else:
            digest.update(repr(value).encode())

    add(call)
    return digest.digest()


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
    #: Replies by request key, each with its request: keeping the request alive
    #: keeps the ids of its large arrays from being reused while it is remembered.
    _replies: dict[bytes, tuple[Call, Reply]] = field(default_factory=dict, repr=False)
    #: Keys by request object, each with its request (alive, so its id stays its own).
    _keys: dict[int, tuple[Call, bytes]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- calls

    def _key(self, request: Call) -> bytes:
        """:func:`call_key` of ``request``, computed once per request object."""
        known = self._keys.get(id(request))
        if known is None:
            known = self._keys[id(request)] = (request, call_key(request))
        return known[1]

    def prefetch(self, requests: Sequence[Call]) -> None:
        """Send every request not answered yet, in one batch."""
        pending: dict[bytes, Call] = {}
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

    def judge(self, reply: Reply, case: Case) -> Precision:
        """The precision to judge ``reply`` at (see :func:`judgement`), noted in
        the report when lowered."""
        arrays = tuple(value for grads in reply.gradients[:1] for value in grads.values())
        if reply.AL is not None:
            arrays = (reply.AL, *arrays)
        return self._noted(judgement(arrays, reply.cache_dtypes, reply.AL, case))

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
                raise CheckNotJudged(
                    "not judged: backward() returns gradients that break the contract "
                    "(see gradient_shapes)"
                )
            assert value is not None
            grads[key] = value
        return grads
