"""The ``bpcheck`` command: ``check`` one student, ``init`` a starter module,
``grade`` a class and ``gradescope`` inside Gradescope (see :mod:`bpcheck.grading`).

Each command imports what it needs when it runs, so that ``bpcheck init``
(two files copied) does not wait for NumPy, Hypothesis and the checks.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck import __version__
from bpcheck._errors import ConfigError, PluginError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from bpcheck._results import RunReport

#: Exit codes: like pytest, 0 all passed, 1 some check failed, 2 interrupted,
#: 4 usage/configuration error.
PASSED, FAILED, INTERRUPTED, USAGE_ERROR = 0, 1, 2, 4


def _parser() -> argparse.ArgumentParser:
    from bpcheck._student import DEFAULT_TIMEOUT
    from bpcheck.grading._commands import add_grading_commands

    parser = argparse.ArgumentParser(
        prog="bpcheck", description="Property-based checks of backpropagation code."
    )
    parser.add_argument("--version", action="version", version=f"bpcheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="run every check against one student module")
    check.add_argument("student", help="module name, or path to a .py file")
    check.add_argument(
        "--adapter", help="course adapter: auto (default), functional, dlai, cs231n, nielsen, declarative"
    )
    check.add_argument("--profile", help="student (fast, default) or grade (derandomized, thorough)")
    check.add_argument("--seed", help="Hypothesis seed (default: random for student, 0 for grade)")
    check.add_argument("--examples", dest="max_examples", help="examples per check")
    check.add_argument("--activations", help="hidden activations covered, e.g. relu,tanh")
    check.add_argument("--losses", help="losses covered, e.g. mse,cce")
    check.add_argument("--report-dir", default="reports", help="where reports go (default: reports)")
    check.add_argument(
        "--timeout", help=f"seconds per call into the student's code (default {DEFAULT_TIMEOUT:g})"
    )

    _init_arguments(commands.add_parser("init", help=INIT_HELP))
    add_grading_commands(commands)
    return parser


INIT_HELP = "copy the starter module for a student"


def _init_arguments(init: argparse.ArgumentParser) -> argparse.ArgumentParser:
    init.add_argument("directory", nargs="?", default=".", help="where to put it (default: here)")
    return init


def print_failures(report: RunReport) -> None:
    """The first failure of each distinct diagnosis in full; the rest are in the report."""
    from bpcheck._text import failure_text, first_per_diagnosis

    for result in first_per_diagnosis(report.checks):
        print("\n" + "=" * 78 + "\n" + failure_text(result))


def _check(arguments: argparse.Namespace) -> int:
    from bpcheck._locate import locate_student
    from bpcheck._manager import get_plugin_manager
    from bpcheck._options import RawOption, call_timeout, course_settings, run_options, with_adapter
    from bpcheck._running import run_student
    from bpcheck._student import DEFAULT_TIMEOUT, InProcessStudent
    from bpcheck._text import last_screen
    from bpcheck.grading._config import course_entries

    given = {
        name: RawOption(getattr(arguments, name), f"the command line, --{flag}")
        for name, flag in (
            ("profile", "profile"),
            ("seed", "seed"),
            ("max_examples", "examples"),
            ("activations", "activations"),
            ("losses", "losses"),
        )
        if getattr(arguments, name) is not None
    }
    timeout = call_timeout(
        None if arguments.timeout is None else RawOption(arguments.timeout, "the command line, --timeout"),
        DEFAULT_TIMEOUT,
    )
    locate_student(arguments.student, "STUDENT", "the command line")
    flag = RawOption(arguments.adapter, "the command line, --adapter") if arguments.adapter else None
    course = course_settings(flag, course_entries(Path.cwd()))
    manager = get_plugin_manager()
    options = with_adapter(run_options(given), arguments.student, course, manager)
    student = InProcessStudent(arguments.student, manager, options.adapter, timeout=timeout)
    print(f"bpcheck {__version__}: student {arguments.student}, profile {options.profile}, seed {options.seed}")
    print(f"adapter: {options.adapter.describe()}\nscope: {options.assignment.describe()}")
    try:
        report = run_student(student, options, manager)
    except KeyboardInterrupt:
        print("\nbpcheck: interrupted: no report written (the checks did not all run)", file=sys.stderr)
        return INTERRUPTED
    print_failures(report)
    written = [
        path
        for paths in manager.hook.bpcheck_write_report(report=report, directory=Path(arguments.report_dir))
        for path in paths
    ]
    print("\n" + "\n".join(last_screen(report, written)))
    return PASSED if report.status == "passed" else FAILED


def _template() -> Traversable:
    """The starter files: installed as ``bpcheck._student_template``, or, when
    bpcheck is imported from a source checkout, ``student_template/`` beside it."""
    try:
        return resources.files("bpcheck._student_template")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "student_template"


def _init(arguments: argparse.Namespace) -> int:
    target = Path(arguments.directory)
    template = _template()
    target.mkdir(parents=True, exist_ok=True)
    for entry in template.iterdir():
        if entry.name.startswith(("_", ".")) or not entry.is_file():
            continue
        destination = target / entry.name
        if destination.exists():
            print(f"bpcheck init: {destination} already exists; left it as it is", file=sys.stderr)
            continue
        with resources.as_file(entry) as source:
            shutil.copyfile(source, destination)
        print(f"created {destination}")
    return PASSED


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["init"]:  # needs none of the harness: no parser that imports it
        parser = argparse.ArgumentParser(prog="bpcheck init", description=INIT_HELP)
        return _init(_init_arguments(parser).parse_args(words[1:]))
    arguments = _parser().parse_args(words)
    from bpcheck.grading._commands import grade, gradescope

    commands = {"check": _check, "init": _init, "grade": grade, "gradescope": gradescope}
    try:
        return commands[arguments.command](arguments)
    except (ConfigError, PluginError) as error:
        print(f"bpcheck: configuration error (not a problem with the student's code):\n{error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
