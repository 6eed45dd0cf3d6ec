"""The ``bpcheck grade`` and ``bpcheck gradescope`` commands."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path

from bpcheck import __version__
from bpcheck._errors import ConfigError
from bpcheck._options import RawOption
from bpcheck._running import collect_checks
from bpcheck.grading._config import GradingConfig, find_config, load_config
from bpcheck.grading._dask import dask_executor
from bpcheck.grading._grade import (
    RETRIED,
    Graded,
    OutputUnwritable,
    Tick,
    grade_all,
    planned_checks,
)
from bpcheck.grading._outputs import summary_text, write_class_summary, write_gradescope
from bpcheck.grading._pool import local_executor, pool_ticks
from bpcheck.grading._progress import Progress
from bpcheck.grading._students import plugin_manager
from bpcheck.grading._submissions import (
    GRADESCOPE,
    STUDENTS,
    check_output_directory,
    find_submissions,
)
from bpcheck.grading.isolation import describe_isolation, find_module, machine, weaker_warning

#: Exit codes: 0 every submission has a result (whatever its score); 3 some
#: submission has none through no fault of its own (grader_error,
#: worker_error: rerun to retry those).
DONE, GRADER_FAILED = 0, 3

#: (flag, configuration key) of the flags that override the configuration file.
OVERRIDES = (
    ("seed", "seed"),
    ("examples", "max_examples"),
    ("jobs", "jobs"),
    ("timeout", "limits.call_timeout"),
    ("memory", "limits.memory_mb"),
    ("scheduler", "scheduler"),
    ("adapter", "adapter"),
)
GRADESCOPE_SUBMISSION = Path("/autograder/submission")
GRADESCOPE_RESULTS = Path("/autograder/results/results.json")


def add_grading_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    grade = commands.add_parser("grade", help="grade submissions, each in an isolated worker")
    grade.add_argument(
        "submissions",
        nargs="+",
        type=Path,
        metavar="SUBMISSION",
        help="a .py file, a .ipynb notebook or a directory, one per student",
    )
    grade.add_argument(
        "--out", type=Path, default=Path("grades"), metavar="DIR", help="default: grades"
    )
    grade.add_argument(
        "--jobs", metavar="N", help="submissions graded at once (default: the cores available)"
    )
    grade.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on this dask.distributed cluster, e.g. tcp://10.0.0.5:8786 (needs bpcheck[dask])",
    )
    grade.add_argument(
        "--format",
        choices=("gradescope",),
        help="also write Gradescope's results.json per student, in OUT/gradescope/",
    )
    gradescope = commands.add_parser(
        "gradescope", help="grade the submission of Gradescope's /autograder layout"
    )
    gradescope.add_argument(
        "--submission",
        type=Path,
        default=GRADESCOPE_SUBMISSION,
        metavar="DIR",
        help=f"default: {GRADESCOPE_SUBMISSION}",
    )
    gradescope.add_argument(
        "--results",
        type=Path,
        default=GRADESCOPE_RESULTS,
        metavar="FILE",
        help=f"default: {GRADESCOPE_RESULTS}",
    )
    for parser in (grade, gradescope):
        parser.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="bpcheck.toml or pyproject.toml (default: the one in this directory)",
        )
        parser.add_argument(
            "--adapter",
            metavar="NAME",
            help="course adapter: auto (default: detected from each submission's source), "
            "functional, dlai, cs231n, nielsen, or declarative (the configuration's [adapter] table)",
        )
        parser.add_argument(
            "--seed", metavar="N", help="Hypothesis seed (default: 0): same seed, same score"
        )
        parser.add_argument(
            "--examples", metavar="N", help="examples per check (default: the grade profile's)"
        )
        parser.add_argument("--timeout", metavar="S", help="seconds per call into student code")
        parser.add_argument("--memory", metavar="MB", help="memory limit per worker, in MB")


def grading_config(arguments: argparse.Namespace) -> GradingConfig:
    """The configuration file's settings, with the command line's flags on top."""
    check_ids = [declared.id for declared in collect_checks(plugin_manager())]
    overrides = {
        key: RawOption(value, f"the command line, --{flag}")
        for flag, key in OVERRIDES
        if (value := getattr(arguments, flag, None)) is not None
    }
    return load_config(arguments.config or find_config(Path.cwd()), overrides, check_ids)


def _grade_with_progress(
    arguments: argparse.Namespace, out: Path, *, a_class: bool = True
) -> tuple[GradingConfig, list[Graded]]:
    """Grade ``arguments.submissions`` into ``out`` with a progress bar; for
    ``a_class`` (``grade``, not ``gradescope``'s one student), say how to grade
    the files of a folder that looks like a class passed as one argument."""
    config = grading_config(arguments)
    submissions = find_submissions(arguments.submissions)
    check_output_directory(submissions, out)  # every refusal comes before the banner
    for submission in submissions:
        if a_class and holds_several_modules(submission.path):
            print(
                f"bpcheck: {submission.path} holds several .py files and no mlp.py: it is one "
                "student's submission, whose module cannot be chosen. To grade each file as a "
                f"student, name the files: bpcheck grade {submission.path}/*.py",
                file=sys.stderr,
            )
    if config.scheduler is None:
        _check_isolation_level()
    progress = Progress({submission.name: planned_checks(submission, config) for submission in submissions})
    with _engine(config, progress.tick) as (executor, tick):
        print(_banner(config, len(submissions), out), file=sys.stderr)
        outcomes = grade_all(
            submissions, config, out, executor=executor, tick=tick, progress=progress.advance
        )
    for graded in outcomes:
        if graded.status in RETRIED:
            print(
                f"\nbpcheck: {graded.status} on {graded.submission.path} (not the student's doing; "
                f"rerun the same command to retry it):\n{graded.message}",
                file=sys.stderr,
            )
    return config, outcomes


def holds_several_modules(path: Path) -> bool:
    """Whether ``path`` is a directory of several top-level .py files among which
    no module can be chosen (no mlp.py, no single notebook): likely a folder of
    students passed as one argument."""
    return (
        path.is_dir()
        and find_module(path)[0] is None
        and sum(1 for file in path.glob("*.py") if file.is_file()) > 1
    )


def _check_isolation_level() -> None:
    try:
        machine().resolve(None)
    except (ValueError, RuntimeError) as error:  # BPCHECK_ISOLATION names no level that works
        raise ConfigError(
            "BPCHECK_ISOLATION", "the environment", f"a level that works here ({error})",
            os.environ.get("BPCHECK_ISOLATION"),
        ) from None


def _banner(config: GradingConfig, submissions: int, out: Path) -> str:
    """The first lines of a run: a warning when this machine isolates less than
    bwrap does, what is graded where, and the isolation."""
    where = (
        f"on the Dask cluster at {config.scheduler}"
        if config.scheduler is not None
        else f"jobs {config.jobs}"
    )
    lines = [
        f"bpcheck {__version__}: grading {submissions} submission(s) into {out}; "
        f"configuration: {config.source}; seed {config.options.seed}; {where}"
    ]
    if config.scheduler is not None:
        lines.append(
            "isolation: each Dask worker's machine isolates as it can; summary.md says how"
        )
        return "\n".join(lines)
    warning = weaker_warning()
    return "\n".join(([warning] if warning else []) + lines + [f"isolation: {describe_isolation()}"])


@contextmanager
def _engine(config: GradingConfig, on_check: Tick) -> Iterator[tuple[Executor | None, Tick]]:
    """Where the units of work run (the cluster, a local pool, or this process),
    and the tick through which their check results reach ``on_check``."""
    if config.scheduler is not None:
        with dask_executor(config.scheduler, config.scheduler_source, on_check) as engine:
            yield engine
        return
    with local_executor(config.jobs) as executor, pool_ticks(executor, on_check) as tick:
        yield executor, tick


def _exit_code(outcomes: list[Graded]) -> int:
    return GRADER_FAILED if any(graded.status in RETRIED for graded in outcomes) else DONE


def _cannot_write(error: Exception) -> int:
    print(
        "\nbpcheck: the grader cannot write its results (not a problem with the students' "
        f"code): {error}\nFree some space or fix the permissions, then rerun the same command: "
        "it resumes where it stopped.",
        file=sys.stderr,
    )
    return GRADER_FAILED


def grade(arguments: argparse.Namespace) -> int:
    """``bpcheck grade``: every submission, then the class summary. Stops with exit
    code 3 as soon as the output directory cannot be written."""
    out: Path = arguments.out
    try:
        config, outcomes = _grade_with_progress(arguments, out)
        markdown, table = write_class_summary(out, outcomes)
        written = [str(markdown), str(table), f"reports in {out / STUDENTS}"]
        if arguments.format == "gradescope":
            for graded in outcomes:
                path = out / GRADESCOPE / f"{graded.submission.name}.json"
                write_gradescope(path, graded, config)
            written.append(f"Gradescope results in {out / GRADESCOPE}")
    except (OutputUnwritable, OSError) as error:
        return _cannot_write(error)
    print(summary_text(outcomes, "simple"))
    print(f"\nwritten: {', '.join(written)}")
    return _exit_code(outcomes)


def gradescope(arguments: argparse.Namespace) -> int:
    """``bpcheck gradescope``: the one submission, into Gradescope's results.json."""
    arguments.submissions = [arguments.submission]
    try:
        with tempfile.TemporaryDirectory(prefix="bpcheck-gradescope-") as out:
            config, outcomes = _grade_with_progress(arguments, Path(out), a_class=False)
        write_gradescope(arguments.results, outcomes[0], config)
    except (OutputUnwritable, OSError) as error:
        return _cannot_write(error)
    print(summary_text(outcomes, "simple"))
    print(f"\nwritten: {arguments.results}")
    return _exit_code(outcomes)
