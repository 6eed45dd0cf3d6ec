"""The built-in report writer: ``<student>.md`` and ``<student>.json``."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import tempfile
from pathlib import Path

from tabulate import tabulate

from bpcheck._hookimpl import hookimpl
from bpcheck._results import CheckResult, RunReport
from bpcheck._text import diagnosis_lines, layer_table
from bpcheck.diagnosis._heatmap import draw, heatmaps, picture_name, pictures_of


#: Characters CommonMark lets a backslash escape: all ASCII punctuation.
_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def markdown_text(text: str) -> str:
    """``text`` (a name, a message: anything the student may have chosen) as
    literal Markdown on one line: every punctuation character escaped, line
    breaks as spaces, so that it cannot open a heading, a table, a fence or a tag."""
    return "".join(
        "\\" + char if char in _PUNCTUATION else " " if char in "\r\n" else char for char in text
    )


def markdown_code(text: str, info: str = "text") -> list[str]:
    """``text`` as the lines of a fenced code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text, fence]


def markdown_code_span(text: str) -> str:
    """``text`` as inline code that no backtick in it can end."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {text} {ticks}" if longest else f"`{text}`"


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` so that readers never see a
    half-written file. Every file gets the mode a plain ``open`` would give it
    (0666 less the umask), whichever file it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@functools.cache
def _umask() -> int:
    """This process's umask, read once: from ``/proc/self/status`` where Linux
    has it, else by setting it and back (which races with threads creating files)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def failure_markdown(result: CheckResult, picture: str | None = None) -> str:
    """The explanation of one failing check: the diagnosis, the counterexample,
    the message, the table (and its heatmap, when drawn), the command."""
    parts = [f"### {result.name} — {result.status}", "", result.claim]
    for diagnosis in result.diagnoses:
        summary, *details = diagnosis_lines(diagnosis)
        parts += ["", f"**Diagnosis: {summary}**", ""] + [f"- {line}" for line in details]
    if result.counterexample:
        parts += ["", f"**Minimal counterexample:** {result.counterexample['summary']}"]
        if result.counterexample.get("arrays"):
            arrays = json.dumps(result.counterexample["arrays"])
            parts += ["", "```json", arrays, "```"]
    parts += ["", *markdown_code(result.message)]
    if result.layers:
        parts += ["", layer_table(result.layers, "github")]
    if picture:
        parts += ["", f"![dW per layer: reference, yours, yours − reference]({picture})"]
    if result.traceback:
        parts += ["", "Traceback:", "", *markdown_code(result.traceback.rstrip())]
    parts += [f"- {markdown_text(note)}" for note in result.notes]
    if result.reproduce:
        parts += ["", f"Reproduce: {markdown_code_span(result.reproduce)}"]
    return "\n".join(parts)


def report_markdown(report: RunReport, pictures: dict[str, str] | None = None) -> str:
    """The whole report; ``pictures`` maps a result's name to its heatmap file."""
    pictures = pictures or {}
    summary = tabulate(
        [
            (
                result.name,
                result.status,
                f"{result.points:g}/{result.max_points:g}",
                markdown_text(result.message.splitlines()[0]) if result.message else "",
            )
            for result in report.checks
        ],
        headers=("check", "status", "points", "message"),
        tablefmt="github",
    )
    failures = [
        failure_markdown(result, pictures.get(result.name))
        for result in report.checks
        if result.status in ("failed", "error")
    ]
    lines = [
        f"# bpcheck report: {markdown_text(report.student)}",
        "",
        f"**Score: {report.score:g} / {report.max_score:g}** ({report.status}); "
        f"profile {report.profile}, seed {report.seed}, bpcheck {report.bpcheck_version}",
    ]
    if report.partial:
        lines += [
            "",
            f"**Partial run**: only {len(report.checks)} of the planned checks ran (`-k`, `-x`); "
            f"the full report, {markdown_code_span(report.student + '.md')}, is not replaced.",
        ]
    if report.adapter:
        lines += ["", f"Adapter: {report.adapter}"]
    if report.diagnoses:
        lines += ["", "## Diagnosis", ""] + [
            f"- **{entry['summary']}** `{entry['mistake']}` ({entry['confidence']} confidence; "
            f"{len(entry.get('checks', []))} failing check{'s' if len(entry.get('checks', [])) != 1 else ''}). {entry['hint']}"
            for entry in report.diagnoses
        ]
    lines += ["", summary]
    if failures:
        lines += ["", "## Failures", "", "\n\n".join(failures)]
    return "\n".join(lines) + "\n"


@hookimpl
def bpcheck_write_report(report: RunReport, directory: Path) -> list[Path]:
    """``<stem>.md``, ``<stem>.json`` and one heatmap per distinct diagnosis,
    ``<stem>.heatmap.<check>-<family>.png``, where the stem is the student's
    name (``<student>.partial`` for a partial run); the pictures an earlier
    report of the same stem left there are removed."""
    stem = report.stem
    pictures = {
        result.name: (directory / picture_name(stem, result), draw(result))
        for result in heatmaps(report.checks)
    }
    keep = {path for path, _ in pictures.values()}
    for old in pictures_of(directory, stem):
        if old not in keep:
            old.unlink(missing_ok=True)
    for path, picture in pictures.values():
        write_atomically(path, picture)
    markdown, data = directory / f"{stem}.md", directory / f"{stem}.json"
    links = {name: path.name for name, (path, _) in pictures.items()}
    write_atomically(markdown, report_markdown(report, links))
    write_atomically(data, json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n")
    return [markdown, data, *(path for path, _ in pictures.values())]
