"""The pytest front end: ``pytest --student=mymodule``.

Registered through the ``pytest11`` entry point. Without ``--student`` (or the
``bpcheck_student`` ini value) it only adds its options and does nothing else.
With it, every planned check becomes one test item, named like
``gradient_values[relu-mse]``, and the session ends by writing the reports.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pluggy
import pytest
from _pytest._code.code import ReprEntryNative, ReprExceptionInfo, ReprFileLocation, ReprTraceback

from bpcheck import __version__
from bpcheck._errors import ConfigError, PluginError
from bpcheck._manager import get_plugin_manager
from bpcheck._options import (
    CourseSettings,
    RawOption,
    call_timeout,
    course_settings,
    run_options,
    with_adapter,
)
from bpcheck._results import CheckResult, RunReport
from bpcheck._running import (
    FamilyRuns,
    PlannedCheck,
    RunOptions,
    collect_checks,
    plan,
    with_plugin_mistakes,
)
from bpcheck._sandbox.loading import student_name
from bpcheck._locate import locate_student
from bpcheck._student import DEFAULT_TIMEOUT, InProcessStudent
from bpcheck._results import diagnosis_key
from bpcheck._text import failure_headline, failure_text, last_screen, repeated_failure_text
from bpcheck.grading._config import course_entries

#: (command-line flag, ini name, RunOptions field or None, help)
OPTIONS = (
    ("--student", "bpcheck_student", None, "student module name or path to a .py file to check"),
    ("--bpcheck-adapter", "bpcheck_adapter", None, "course adapter: auto (default), functional, dlai, cs231n, nielsen or declarative"),
    ("--bpcheck-profile", "bpcheck_profile", "profile", "Hypothesis profile: student (fast) or grade"),
    ("--bpcheck-seed", "bpcheck_seed", "seed", "seed for Hypothesis (default: random, printed)"),
    ("--bpcheck-examples", "bpcheck_examples", "max_examples", "examples per check (default: the profile's)"),
    ("--bpcheck-activations", "bpcheck_activations", "activations", "hidden activations the assignment covers, e.g. relu,tanh"),
    ("--bpcheck-losses", "bpcheck_losses", "losses", "losses the assignment covers, e.g. mse,cce"),
    ("--bpcheck-report-dir", "bpcheck_report_dir", None, "where reports are written (default: reports)"),
    ("--bpcheck-timeout", "bpcheck_timeout", None, f"seconds per call into the student's code (default {DEFAULT_TIMEOUT:g})"),
)
RESULT_PROPERTY = "bpcheck_result"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bpcheck", "bpcheck: check a student's backpropagation code")
    for flag, ini, _, help_text in OPTIONS:
        group.addoption(flag, dest=ini, default=None, help=help_text)
        parser.addini(ini, help=help_text, default=None)


def _raw(config: pytest.Config, flag: str, ini: str) -> RawOption | None:
    value = config.getoption(ini)
    if value is not None:
        return RawOption(value, f"the command line, {flag}")
    value = config.getini(ini)
    if value:
        return RawOption(value, f"{config.inipath or 'the ini file'} [{ini}]")
    return None


def pytest_configure(config: pytest.Config) -> None:
    student = _raw(config, "--student", "bpcheck_student")
    if student is None:
        return
    try:
        given = {field: _raw(config, flag, ini) for flag, ini, field, _ in OPTIONS if field}
        options = run_options(given)
        course = course_settings(
            _raw(config, "--bpcheck-adapter", "bpcheck_adapter"),
            course_entries(config.invocation_params.dir),
        )
        timeout = call_timeout(_raw(config, "--bpcheck-timeout", "bpcheck_timeout"), DEFAULT_TIMEOUT)
        locate_student(str(student.value), "--student", student.source)
    except ConfigError as error:
        raise pytest.UsageError(f"bpcheck: {error}") from None
    seed = getattr(config, "workerinput", {}).get("bpcheck_seed")
    if seed is not None:  # an xdist worker runs with its controller's seed
        options = replace(options, seed=seed)
    report_dir = _raw(config, "--bpcheck-report-dir", "bpcheck_report_dir")
    directory = Path(str(report_dir.value)) if report_dir else Path("reports")
    config.pluginmanager.register(
        BpcheckSession(str(student.value), options, directory, course, timeout), "bpcheck-session"
    )


class BpcheckFailed(Exception):
    """A check failed; carries its result for :meth:`BpcheckItem.repr_failure`."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


def failure_repr(block: str, headline: str, path: Path) -> ReprExceptionInfo:
    """A failure as pytest shows it: ``block`` in full where the failures are
    shown, and only ``headline`` after the test's id in the short summary and as
    the JUnit XML failure message.

    A plain string would do for the first, but pytest then repeats the whole
    string in the short summary under ``-vv`` and wherever the ``CI`` variable is
    set (a course's autograder, say). The native-traceback form is the one pytest
    and pytest-xdist serialise and print verbatim.
    """
    return ReprExceptionInfo(
        reprtraceback=ReprTraceback(
            reprentries=[ReprEntryNative([block + "\n"])], extraline=None, style="native"
        ),
        reprcrash=ReprFileLocation(path=str(path), lineno=0, message=headline),
    )


class BpcheckItem(pytest.Item):
    """One planned check against the student."""

    def __init__(self, *, planned: PlannedCheck, session_plugin: BpcheckSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.session_plugin = session_plugin
        self.result: CheckResult | None = None

    def runtest(self) -> None:
        self.result = self.session_plugin.runs(self.session).result(self.planned)
        if self.result.status in ("skipped", "not_judged"):  # not_judged: another check failed
            pytest.skip(self.result.message)
        if self.result.status != "passed":
            raise BpcheckFailed(self.result)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, BpcheckFailed):
            result = excinfo.value.result
            return failure_repr(failure_text(result), failure_headline(result), self.path)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"bpcheck {self.name}"


class BpcheckSuite(pytest.Collector):
    """The student's check suite: one item per planned check."""

    def __init__(self, *, planned: list[PlannedCheck], session_plugin: BpcheckSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.session_plugin = session_plugin

    def collect(self) -> list[BpcheckItem]:
        return [
            BpcheckItem.from_parent(
                self, name=check.name, planned=check, session_plugin=self.session_plugin
            )
            for check in self.planned
        ]


class BpcheckSession:
    """The plugin registered for a run with ``--student``."""

    def __init__(
        self,
        spec: str,
        options: RunOptions,
        report_dir: Path,
        course: CourseSettings,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.spec, self.options, self.report_dir = spec, options, report_dir
        self.course, self.timeout = course, timeout
        self.interrupted = False
        self.manager: pluggy.PluginManager = get_plugin_manager()
        self._student: InProcessStudent | None = None
        self._runs: FamilyRuns | None = None
        self._adapted = False
        self.results: list[CheckResult] = []
        self.written: list[Path] = []
        self.report: RunReport | None = None
        #: The failure shown in full for each distinct diagnosis, by its key.
        self._shown: dict[tuple[str, ...], str] = {}
        self.verbosity = 0
        #: An xdist worker sends every failure in full: the controller shortens.
        self.in_xdist_worker = False

    def adapt(self) -> None:
        """Choose the student's adapter, once conftest.py plugins are registered."""
        if self._adapted:
            return
        try:
            self.options = with_adapter(self.options, self.spec, self.course, self.manager)
        except ConfigError as error:
            raise pytest.UsageError(f"bpcheck: {error}") from None
        self._adapted = True

    @property
    def student(self) -> InProcessStudent:
        if self._student is None:
            self.adapt()
            self._student = InProcessStudent(
                self.spec, self.manager, self.options.adapter, timeout=self.timeout
            )
        return self._student

    def runs(self, session: pytest.Session) -> FamilyRuns:
        """The results of the checks this session runs (after ``-k`` and the like),
        computed family by family as the first item of each family runs."""
        if self._runs is None:
            planned = [item.planned for item in session.items if isinstance(item, BpcheckItem)]
            self._runs = FamilyRuns(planned, self.student, self.options)
        return self._runs

    def pytest_plugin_registered(self, plugin: object) -> None:
        """conftest.py files (and other pytest plugins) may implement bpcheck hooks."""
        implements = any(name.startswith("bpcheck_") for name in dir(plugin))
        if implements and plugin is not self and not self.manager.is_registered(plugin):
            self.manager.register(plugin)

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """With ``--student`` and no test paths named, run only the checks: the
        project's own testpaths are not collected. Naming paths collects them too."""
        if config.args_source != pytest.Config.ArgsSource.ARGS:
            return True
        return None

    def pytest_report_header(self) -> list[str]:
        self.adapt()
        return [
            f"bpcheck {__version__}: student {self.spec}, profile {self.options.profile}, "
            f"seed {self.options.seed} (rerun with --bpcheck-seed={self.options.seed})",
            f"bpcheck adapter: {self.options.adapter.describe()}",
            f"bpcheck scope: {self.options.assignment.describe()}",
        ]

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["bpcheck_seed"] = self.options.seed

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        self.adapt()
        try:
            # conftest.py plugins are registered by now: their checks and mistakes count.
            self.options = with_plugin_mistakes(self.options, self.manager)
            planned = plan(collect_checks(self.manager), self.options)
        except PluginError as error:
            raise pytest.UsageError(f"bpcheck plugin error:\n{error}") from None
        suite = BpcheckSuite.from_parent(
            session, name=f"bpcheck[{self.spec}]", nodeid="bpcheck", planned=planned, session_plugin=self
        )
        # Collect the suite the way pytest collects any node, so that counts and
        # collection reports (-q, --collect-only, xdist) include its items.
        report = session.ihook.pytest_make_collect_report(collector=suite)
        session.ihook.pytest_collectreport(report=report)
        items.extend(node for node in report.result if isinstance(node, pytest.Item))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        if isinstance(item, BpcheckItem) and call.when == "call" and item.result is not None:
            report = outcome.get_result()
            report.user_properties.append((RESULT_PROPERTY, json.dumps(item.result.to_json())))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                result = CheckResult.from_json(json.loads(str(value)))
                self.results.append(result)
                if report.failed and not self.in_xdist_worker:
                    self._shorten_repeated(report, result)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.verbosity = session.config.get_verbosity()
        self.in_xdist_worker = hasattr(session.config, "workerinput")

    def _shorten_repeated(self, report: pytest.TestReport, result: CheckResult) -> None:
        """Show a failure in full the first time its diagnosis arrives (every time
        with ``-v``), else as one line pointing at the first. Decided here, where
        every report arrives (the xdist controller's too), so that one diagnosis
        shows in full once however many workers found it."""
        first = self._shown.setdefault(diagnosis_key(result), result.name)
        if first != result.name and self.verbosity == 0:
            report.longrepr = failure_repr(
                repeated_failure_text(result, first), failure_headline(result), Path(report.fspath)
            )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the report, unless the run was interrupted (Ctrl-C): then none is
        written, and the terminal summary says so."""
        if hasattr(session.config, "workerinput") or not self.results:
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.interrupted = True
            return
        planned = plan(collect_checks(self.manager), self.options)
        order = {check.name: index for index, check in enumerate(planned)}
        ran = {result.name for result in self.results}
        report = RunReport(
            # The name only: the xdist controller never imports the student.
            student_name(self.spec),
            self.options.seed,
            self.options.profile,
            __version__,
            # In plan order, whatever order xdist workers finished in.
            sorted(self.results, key=lambda result: order.get(result.name, len(order))),
            adapter=self.options.adapter.describe(),
            # -k, -x or a stop: never written over the full report.
            partial=not set(order) <= ran,
        )
        directory = self.report_dir if self.report_dir.is_absolute() else session.config.invocation_params.dir / self.report_dir
        for paths in self.manager.hook.bpcheck_write_report(report=report, directory=directory):
            self.written += paths
        self.report = report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        """The last screen, after pytest's own short summary (this wrapper is the
        outermost): each distinct diagnosis, then a compact table of the checks."""
        try:
            return (yield)
        finally:
            self._last_screen(terminalreporter)

    def _last_screen(self, terminalreporter: Any) -> None:
        if self.interrupted:
            terminalreporter.write_sep("-", "bpcheck")
            terminalreporter.write_line(
                "interrupted: no report written (the checks did not all run); run again to get one"
            )
            return
        if self.report is not None:
            terminalreporter.write_sep("-", "bpcheck")
            for line in last_screen(self.report, self.written):
                terminalreporter.write_line(line)
