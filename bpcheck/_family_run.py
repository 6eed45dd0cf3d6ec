"""One Hypothesis run per family, shared by every check that draws the family's cases.

The run draws each case once and runs the body of every check still open on
it; the calls the bodies will make are sent to the student together, and
replies are shared where the checks ask the same (one forward and backward
serve five checks). They are sent ahead (:class:`_SentAhead`): the checks
judge a case when Hypothesis has drawn the next one and its calls have been
sent, so that an isolated worker answers them while Hypothesis draws and the
checks judge. (The next case's calls are gathered first without asking the
student anything; where gathering must ask, as finite_differences does on a
run's first case, the case before is judged first.) Every student sees the
same calls in the same order, in the same batches, whether it can answer
ahead or not. The property itself never fails: a check that fails is
closed, with its case, and its counterexample is then shrunk under the
check's own ``@given``, seeded with that case so that the search starts
from it (through Hypothesis's example database: the case's choices are
saved under the check's key, where the shrinker picks them up). One mistake
usually fails several checks on the same smallest network, so a check that
fails on a counterexample already shrunk for another check of the family
gets that one, and the shrinking is not done again.

Each check still passes or fails on its own, with its own points; the seed
of a family run and of each check's shrink derive from the run's seed, so a
run is reproducible from its seed and ``-k`` selects the same cases.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import hypothesis
from hypothesis import settings
from hypothesis.control import current_build_context
from hypothesis.database import ExampleDatabase, InMemoryExampleDatabase, choices_to_bytes
from hypothesis.errors import FlakyFailure

from bpcheck._contract import Case, Family
from bpcheck._outcome import Outcome
from bpcheck._planning import PlannedCheck, RunOptions, item_seed
from bpcheck._profiles import profile_settings
from bpcheck._results import CheckResult
from bpcheck._sandbox.calls import Call, Reply
from bpcheck._student import ApiReport, Student
from bpcheck.checks import CheckContext, CheckFailure, CheckNotJudged, CheckSkipped, family_cases
from bpcheck.checks._base import Check

#: The choices Hypothesis made for a case, as its database stores them.
_Choices = tuple[int | str | bool | float | bytes, ...]


def _choices() -> _Choices | None:
    """The choices Hypothesis made for the case being run (None if it cannot tell)."""
    try:
        return tuple(current_build_context().data.choices)
    except Exception:  # an internal of Hypothesis: without it the shrink starts afresh
        return None


def _prepared(declared: Check, case: Case) -> Case | None:
    return declared.prepare(case) if declared.prepare is not None else case


def _requests(declared: Check, context: CheckContext, case: Case) -> list[Call]:
    """The calls ``declared`` will make on ``case`` (none if it cannot say)."""
    if declared.requests is None:
        return []
    try:
        return list(declared.requests(context, case))
    except (CheckFailure, CheckNotJudged, CheckSkipped):
        return []  # the body meets the same reason and reports it


@dataclass
class _Open:
    """A check while its family's run goes on: open until it fails or ends otherwise."""

    planned: PlannedCheck
    exercised: int = 0
    failure: CheckFailure | None = None
    choices: _Choices | None = None
    ended: tuple[str, str] | None = None  # (status, message) for not_judged, skipped, harness

    @property
    def open(self) -> bool:
        return self.failure is None and self.ended is None

    def run(self, context: CheckContext, case: Case, choices: _Choices | None) -> None:
        """The check's body on ``case``, drawn with ``choices``."""
        try:
            self.planned.check.body(context, case)
        except CheckFailure as failure:
            self.failure, self.choices = failure, choices
        except CheckNotJudged as not_judged:
            self.ended = ("not_judged", str(not_judged))
        except CheckSkipped as skipped:
            self.ended = ("skipped", str(skipped))
        except Exception:  # a bug of bpcheck or a plugin: not the student's
            self.ended = ("harness", traceback.format_exc())
        else:
            self.exercised += 1


def _database_key(student: Student, name: str) -> bytes:
    return f"bpcheck:{student.name}:{name}".encode()


class _WouldCall(Exception):
    """Raised by :meth:`_SentAhead.without_calls` where gathering requests asks
    the student something."""


class _SentAhead:
    """The student as a family run's checks see it: the calls of a case are
    sent to the student with :meth:`send_ahead`, and its replies read before
    any other call, or when a check first asks for one of them.

    A batch sent ahead is answered in the order sent, before any call made
    after it, by every student: an isolated worker with a core to spare starts
    on it at once, and any other student answers it when it is read. The
    calls a student sees, and their order, therefore do not depend on how it
    runs.

    Replies are remembered by request object until :meth:`forget`, so that the
    calls made while a case's requests are gathered (finite_differences asks
    for the shared reply to choose its probes) are not sent again. The checks
    build a case's requests with per-case memos, so equal requests are the
    same object here, and the batches are those :meth:`CheckContext.prefetch`
    sends."""

    def __init__(self, student: Student) -> None:
        self.student = student
        self._replies: dict[int, tuple[Call, Reply]] = {}  # the request keeps its id its own
        self._ahead: list[Call] = []
        self._calls_allowed = True

    @property
    def name(self) -> str:
        return self.student.name

    @property
    def spec(self) -> str:
        return self.student.spec

    @property
    def api(self) -> ApiReport:  # a worker's can change as it stops
        return self.student.api

    def call(self, request: Call) -> Reply:
        return self.call_many([request])[0]

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        """The replies to ``requests``; a batch sent ahead is read first only
        when some of them are not answered yet (so that judging one case while
        the next is answered waits for nothing)."""
        if self._new(requests):
            if not self._calls_allowed:
                raise _WouldCall()
            self._read_ahead()
            self._answer(self._new(requests), self.student.call_many)
        return [self._replies[id(request)][1] for request in requests]

    def send_ahead(self, requests: Sequence[Call]) -> None:
        """Send ``requests`` (those not answered yet) as the next batch, after
        reading the batch sent ahead before."""
        self._read_ahead()
        self._ahead = self._new(requests)
        start = getattr(self.student, "send_ahead", None)  # optional: see Student
        if self._ahead and start is not None:
            start(self._ahead)

    def without_calls(self, gather: Callable[[], list[Call]]) -> list[Call]:
        """``gather()``, which must not ask the student anything not answered
        yet: where it would, it stops with _WouldCall, nothing asked."""
        self._calls_allowed = False
        try:
            return gather()
        finally:
            self._calls_allowed = True

    def forget(self, keep: Sequence[Call] = ()) -> None:
        """Drop every reply remembered but those to ``keep`` (a batch sent ahead
        for the next case), without waiting for a batch sent ahead."""
        kept = {id(request) for request in keep}
        self._replies = {key: value for key, value in self._replies.items() if key in kept}

    def finish(self) -> None:
        """Read what was sent ahead, and drop every reply remembered."""
        self._read_ahead()
        self._replies.clear()

    def _new(self, requests: Sequence[Call]) -> list[Call]:
        new = {id(request): request for request in requests if id(request) not in self._replies}
        return list(new.values())

    def _read_ahead(self) -> None:
        ahead, self._ahead = self._ahead, []
        self._answer(self._new(ahead), self.student.call_many)

    def _answer(self, requests: list[Call], ask: Callable[[list[Call]], list[Reply]]) -> None:
        if requests:
            for request, reply in zip(requests, ask(requests), strict=True):
                self._replies[id(request)] = (request, reply)


@dataclass
class _Drawn:
    """A case whose calls were sent ahead: its checks with their own cases, the
    calls, and the choices Hypothesis made for it."""

    prepared: list[tuple[_Open, Case]]
    requests: list[Call]
    choices: _Choices | None


@dataclass
class FamilyRun:
    """The shared run of ``planned`` (checks that draw ``family``'s cases) for ``student``."""

    family: Family | None
    planned: Sequence[PlannedCheck]
    student: Student
    options: RunOptions
    context: CheckContext = field(init=False)
    #: The choices of every counterexample shrunk so far in this run, and the cases.
    _minimal: list[bytes] = field(init=False, default_factory=list)
    _minimal_cases: list[Case] = field(init=False, default_factory=list)
    #: The last shared case a shrinking check failed on (Hypothesis ends on the minimal one).
    _last_failing: Case | None = field(init=False, default=None)
    _sent: _SentAhead = field(init=False)
    #: The case drawn last, whose calls were sent ahead, until it is judged.
    _drawn: _Drawn | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._sent = _SentAhead(self.student)
        self.context = CheckContext(
            self._sent, self.family, self.options.scope, self.options.assignment
        )

    @property
    def name(self) -> str:
        return f"family:{self.family.id if self.family else 'all'}"

    def run(self) -> list[CheckResult]:
        """Every check's result, in the order of ``planned``."""
        checks = [_Open(planned) for planned in self.planned]
        self._draw(checks)
        return [self._result(check) for check in checks]

    # ------------------------------------------------------------ the shared draw

    def _draw(self, checks: list[_Open]) -> None:
        context = self.context

        def prepared_of(case: Case) -> list[tuple[_Open, Case]]:
            return [
                (check, derived)
                for check in checks
                if check.open and (derived := _prepared(check.planned.check, case)) is not None
            ]

        def requests_of(prepared: list[tuple[_Open, Case]]) -> list[Call]:
            return [
                request
                for check, derived in prepared
                for request in _requests(check.planned.check, context, derived)
            ]

        def property_of_family(case: Case) -> None:
            prepared = prepared_of(case)
            try:
                try:
                    requests = self._sent.without_calls(lambda: requests_of(prepared))
                    judged_before = False
                except _WouldCall:  # gathering asks the student: the case before is judged first
                    self._judge_drawn()
                    prepared = prepared_of(case)
                    requests = requests_of(prepared)
                    judged_before = True
            except BaseException:
                self._forget()
                raise
            self._sent.send_ahead(requests)
            if not judged_before:  # the case before is judged while this one is answered
                self._judge_drawn(keep=requests)
            self._drawn = _Drawn(prepared, requests, _choices())

        base = profile_settings(self.options.profile, self.options.max_examples)
        database = base.database
        key = _database_key(self.student, self.name)
        if database is not None:  # failures remembered from earlier runs are drawn first
            for check in checks:
                for choices in database.fetch(_database_key(self.student, check.planned.name)):
                    database.save(key + b".secondary", choices)
        test = hypothesis.given(family_cases(context))(property_of_family)
        test._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
        test = hypothesis.seed(item_seed(self.options.seed, self.name))(test)
        try:
            settings(base)(test)()
        except BaseException as stopped:
            self._drawn = None  # Ctrl-C, or Hypothesis failed the run: no case more to judge
            if isinstance(stopped, Exception):  # the next family's calls come after the batch sent
                self._sent.finish()
            raise
        self._judge_drawn()

    def _judge_drawn(self, keep: Sequence[Call] = ()) -> None:
        """Run the checks of the case drawn last (those still open) on it, once
        its replies are read; ``keep``: the requests of the next case, sent ahead
        already, whose replies stay remembered."""
        drawn, self._drawn = self._drawn, None
        if drawn is None:
            return
        try:
            self.context.prefetch(drawn.requests)
            for check, derived in drawn.prepared:
                if check.open:  # it may have failed on the case before, judged after this was drawn
                    check.run(self.context, derived, drawn.choices)
        finally:
            self._forget(keep)

    def _forget(self, keep: Sequence[Call] = ()) -> None:
        """The end of a case: the context and the student forget its replies
        (those to ``keep`` aside)."""
        self.context.forget()
        self._sent.forget(keep)

    # ------------------------------------------------------------ each check's end

    def _result(self, check: _Open) -> CheckResult:
        planned = check.planned
        outcome = Outcome(planned, self.student, self.options, self.context)
        if check.failure is not None:
            return self._shrunk(check, outcome)
        self._forget_failures(planned)
        if check.ended is not None:
            status, message = check.ended
            if status == "harness":
                return outcome.harness_error(message)
            return outcome.finish(status, message)
        if check.exercised == 0:
            return self._on_its_own(planned, outcome)
        return outcome.finish("passed")

    def _shrunk(self, check: _Open, outcome: Outcome) -> CheckResult:
        """The check's failure on a minimal counterexample: one of the family's
        checks shrunk before it, when this check fails there too (one mistake
        usually fails several checks on the same smallest network), else its
        own, shrunk under its own ``@given``."""
        assert check.failure is not None
        for case in self._minimal_cases:
            failure = self._failure_on(check.planned.check, case)
            if failure is not None:
                return outcome.failed(failure)
        try:
            self._shrink(check.planned, check.choices)
        except CheckFailure as failure:
            return outcome.failed(failure)
        except FlakyFailure as flaky:
            return outcome.flaky(flaky)
        outcome.extra_notes.append(
            "This case failed once but not when the check was run again on its own: your code "
            "keeps state between calls, so the counterexample is the one first found, not a "
            "minimal one."
        )
        return outcome.failed(check.failure)

    def _shrink(self, planned: PlannedCheck, choices: _Choices | None) -> None:
        """Run ``planned`` under its own ``@given``, starting from ``choices`` and
        from the minimal counterexamples of the family's checks shrunk before it;
        raises the minimal failure (or returns when none is found)."""
        base = profile_settings(self.options.profile, self.options.max_examples)
        database: ExampleDatabase = base.database or InMemoryExampleDatabase()
        key = _database_key(self.student, planned.name)
        seeds = self._minimal + ([choices_to_bytes(choices)] if choices is not None else [])
        for seed in seeds:
            database.save(key + b".secondary", seed)
        test = hypothesis.given(family_cases(self.context))(self._alone(planned.check))
        test._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
        test = hypothesis.seed(item_seed(self.options.seed, planned.name))(test)
        try:
            settings(base, database=database, derandomize=False)(test)()
        finally:  # Hypothesis saved the minimal failure under the check's key
            self._minimal += [found for found in database.fetch(key) if found not in self._minimal]
            if self._last_failing is not None:  # Hypothesis reports the minimal case last
                self._minimal_cases.append(self._last_failing)
                self._last_failing = None

    def _failure_on(self, declared: Check, case: Case) -> CheckFailure | None:
        """How ``declared`` fails on the shared ``case``, or None if it does not."""
        derived = _prepared(declared, case)
        if derived is None:
            return None
        try:
            self.context.prefetch(_requests(declared, self.context, derived))
            declared.body(self.context, derived)
        except CheckFailure as failure:
            return failure
        except (CheckNotJudged, CheckSkipped):
            return None
        finally:
            self._forget()
        return None

    def _alone(self, declared: Check) -> Callable[[Case], None]:
        """The check's body on a case, as its own property: failing only by its own claim."""
        context = self.context

        def property_of_check(case: Case) -> None:
            derived = _prepared(declared, case)
            if derived is None:
                return
            try:
                context.prefetch(_requests(declared, context, derived))
                declared.body(context, derived)
            except CheckFailure:
                self._last_failing = case
                raise
            except (CheckNotJudged, CheckSkipped):
                return
            finally:
                self._forget()

        return property_of_check

    def _on_its_own(self, planned: PlannedCheck, outcome: Outcome) -> CheckResult:
        """A check that no shared case could exercise (every draw too shallow, say)
        runs under its own ``@given``, which keeps drawing until one can."""
        declared = planned.check

        def usable(case: Case) -> bool:
            return _prepared(declared, case) is not None

        context = self.context
        test = hypothesis.given(family_cases(context).filter(usable))(self._alone(declared))
        test = hypothesis.seed(item_seed(self.options.seed, planned.name))(test)
        base = profile_settings(self.options.profile, self.options.max_examples)
        try:
            settings(base, database=None, derandomize=False)(test)()
        except CheckFailure as failure:
            return outcome.failed(failure)
        except FlakyFailure as flaky:
            return outcome.flaky(flaky)
        return outcome.finish("passed")

    def _forget_failures(self, planned: PlannedCheck) -> None:
        """A check that passed now forgets the failures an earlier run remembered."""
        database = profile_settings(self.options.profile).database
        if database is not None:
            key = _database_key(self.student, planned.name)
            for choices in list(database.fetch(key)):
                database.delete(key, choices)
