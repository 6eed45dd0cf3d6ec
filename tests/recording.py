"""A student that records the batches of calls it is asked, for tests of how
the harness batches its calls (one round trip each to an isolated worker)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bpcheck import InProcessStudent, get_plugin_manager
from bpcheck._sandbox.calls import Call, Reply


def fingerprint(value: Any) -> Any:
    """A call as plain data: its kind, and every field with arrays by their bytes."""
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, dict):
        return tuple((key, fingerprint(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(fingerprint(item) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(fingerprint(getattr(value, f.name)) for f in fields(value)))
    return value


class Recording(InProcessStudent):
    """An in-process student that records each batch of calls it is asked to answer."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path), get_plugin_manager())
        self.batches: list[tuple[Any, ...]] = []

    def call(self, request: Call) -> Reply:
        return self.call_many([request])[0]

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        self.batches.append(tuple(fingerprint(request) for request in requests))
        return [InProcessStudent.call(self, request) for request in requests]
