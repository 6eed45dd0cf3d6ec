"""The built-in functional adapter: a module exposing ``forward`` and ``backward``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from bpcheck._execute import StudentFunctions
from bpcheck._hookimpl import hookimpl


def _function(module: ModuleType, name: str) -> Callable[..., Any] | None:
    value = getattr(module, name, None)
    return value if callable(value) else None


@hookimpl(trylast=True)
def bpcheck_adapt_module(module: ModuleType) -> StudentFunctions:
    """Take ``forward``, ``backward`` and the optional ``compute_loss`` and
    ``update`` straight from the module; missing ones stay None for the ``api``
    check to report."""
    return StudentFunctions(
        forward=_function(module, "forward"),
        backward=_function(module, "backward"),
        compute_loss=_function(module, "compute_loss"),
        update=_function(module, "update"),
    )
