"""The ``bpcheck grade`` and ``bpcheck gradescope`` commands."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bpcheck import __version__
from bpcheck._errors import ConfigError
from bpcheck._options import RawOption
from bpcheck._running import collect_checks
from bpcheck.grading._config import GradingConfig, find_config, load_config
from bpcheck.grading._grade import (
    GRADESCOPE,
    RETRIED,
    STUDENTS,
    Graded,
    OutputUnwritable,
    _manager,
    find_submissions,
    grade_all,
    local_executor,
)
from bpcheck.grading.isolation import describe_isolation, machine, weaker_warning
from bpcheck.grading._outputs import summary_text, write_class_summary, write_gradescope
from bpcheck.grading._progress import Progress

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
    check_ids = [declared.id for declared in collect_checks(_manager())]
    overrides = {
        key: RawOption(value, f"the command line, --{flag}")
        for flag, key in OVERRIDES
        if (value := getattr(arguments, flag, None)) is not None
    }
    return load_config(arguments.config or find_config(Path.cwd()), overrides, check_ids)


def _grade_with_progress(
    arguments: argparse.Namespace, out: Path
) -> tuple[GradingConfig, list[Graded]]:
    config = grading_config(arguments)
    submissions = find_submissions(arguments.submissions)
    try:
        machine().resolve(None)
    except (ValueError, RuntimeError) as error:  # BPCHECK_ISOLATION names no level that works
        raise ConfigError(
            "BPCHECK_ISOLATION", "the environment", f"a level that works here ({error})",
            os.environ.get("BPCHECK_ISOLATION"),
        ) from None
    warning = weaker_warning()
    if warning:
        print(warning, file=sys.stderr)
    print(
        f"bpcheck {__version__}: grading {len(submissions)} submission(s) into {out}; "
        f"configuration: {config.source}; seed {config.options.seed}; jobs {config.jobs}\n"
        f"isolation: {describe_isolation()}",
        file=sys.stderr,
    )
    progress = Progress(len(submissions))
    with local_executor(config.jobs) as executor:
        outcomes = grade_all(submissions, config, out, executor=executor, progress=progress.advance)
    for graded in outcomes:
        if graded.status in RETRIED:
            print(
                f"\nbpcheck: {graded.status} on {graded.submission.path} (not the student's doing; "
                f"rerun the same command to retry it):\n{graded.message}",
                file=sys.stderr,
            )
    return config, outcomes


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
            config, outcomes = _grade_with_progress(arguments, Path(out))
        write_gradescope(arguments.results, outcomes[0], config)
    except (OutputUnwritable, OSError) as error:
        return _cannot_write(error)
    print(summary_text(outcomes, "simple"))
    print(f"\nwritten: {arguments.results}")
    return _exit_code(outcomes)
