"""The functional contract itself: ``forward``, ``backward`` and the optional
``compute_loss`` and ``update``, taken from the module as they are."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..execute import functional_functions
from ._common import Adapted


def adapt(module: ModuleType, settings: dict[str, Any]) -> Adapted:
    return Adapted(functional_functions(module))
