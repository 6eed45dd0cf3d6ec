"""Cases that depend on the seed alone, not on which modules are loaded.

Hypothesis (6.131 and later) now and then draws a constant it found in the
source of the *local* modules loaded in the process: those outside
site-packages and the standard library. In a bpcheck run those include the
student's own module (imported by ``pytest --student``, never by the
isolated grader), an editable install of bpcheck, and an instructor's
plugins. With them, the same seed would draw other cases for each student,
other cases on a laptop than in the grader, and the reproduce command would
not reproduce what the grader found. Hypothesis also parses each of those
modules to find the constants, and writes what it found under
``.hypothesis/constants`` in the working directory.

:func:`seed_only_draws` turns that off while bpcheck draws its cases:
Hypothesis's own constants (the same for every run of one Hypothesis
version) stay. It reaches into Hypothesis's internals, which no public
setting covers; where they have changed, it changes nothing, and
``tests/test_draws.py`` fails to say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _local_constants_hook() -> tuple[Any, Any, Any] | None:
    """Hypothesis's provider class, its cache of allowed constants, and an
    empty set of constants; None for a Hypothesis that draws no local ones."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - older or newer Hypothesis
        return None
    provider = getattr(providers, "HypothesisProvider", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if provider is None or cache is None or "_local_constants" not in provider.__dict__:
        return None  # pragma: no cover
    return provider, cache, Constants()


@contextmanager
def seed_only_draws() -> Iterator[None]:
    """Within: Hypothesis draws no constant from the source of loaded modules.

    Not reentrant across threads: bpcheck draws in one thread."""
    hook = _local_constants_hook()
    if hook is None:
        yield
        return
    provider, cache, empty = hook
    original = provider.__dict__["_local_constants"]
    provider._local_constants = property(lambda self: empty)
    cache.cache.clear()  # the constants allowed per kind of draw, local ones included
    try:
        yield
    finally:
        provider._local_constants = original
        cache.cache.clear()
