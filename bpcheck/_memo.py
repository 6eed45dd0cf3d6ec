"""Work done once per case: :func:`per_case`.

Every check of a drawn case asks for the same things (the reference's
gradients, the case with a unit forced dead, the random directions of the
finite differences). Computed once and kept for as long as the case lives,
they also come back as the *same* arrays, so that requests built from them
are recognised as the same request (see :func:`bpcheck.checks._context.call_key`).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TypeVar

from bpcheck._contract import Case

Result = TypeVar("Result")


def per_case(function: Callable[[Case], Result]) -> Callable[[Case], Result]:
    """``function(case)``, computed once per case object and kept while it lives."""
    results: weakref.WeakKeyDictionary[Case, Result] = weakref.WeakKeyDictionary()

    @functools.wraps(function)
    def once(case: Case) -> Result:
        if case not in results:
            results[case] = function(case)
        return results[case]

    return once
