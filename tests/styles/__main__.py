"""Print one generated student module.

    python -m tests.styles STYLE_ID [--mistake MISTAKE] > student.py
    python -m tests.styles --axes        # the axes and their values

STYLE_ID is a style's values joined by dots, as the campaign and the tests print it.
"""

from __future__ import annotations

import argparse
import sys

from tests.styles._mistakes import INJECTORS, Student, inject
from tests.styles._style import AXES, Style


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("style", nargs="?", help="a style id: its values joined by dots")
    parser.add_argument("--mistake", choices=sorted(INJECTORS), help="inject this mistake")
    parser.add_argument("--axes", action="store_true", help="list the axes and their values")
    arguments = parser.parse_args(argv)
    if arguments.axes:
        for axis in AXES:
            print(f"{axis.name}: {' | '.join(axis.values)}\n    {axis.meaning}")
        return 0
    if arguments.style is None:
        parser.error("give a style id, or --axes")
    try:
        style = Style.parse(arguments.style)
    except ValueError as error:
        parser.error(str(error))
    student = Student(style) if arguments.mistake is None else inject(arguments.mistake, style)
    if student is None:
        print(f"{arguments.mistake} cannot occur in style {style.id}", file=sys.stderr)
        return 1
    sys.stdout.write(student.source())
    return 0


if __name__ == "__main__":
    sys.exit(main())
