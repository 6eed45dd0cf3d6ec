"""What forward's cache says of how the student computed: :func:`cache_dtypes`.

A cache is whatever the student made it (arrays in dicts, lists, tuples,
objects), so it is walked to a bounded depth and number of values; the usual
ones (a dict of arrays, a list of per-layer dicts) are read faster, to the
same result. Imports nothing but NumPy, so that it runs inside an isolated
worker too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: How deep, and through how many values, :func:`cache_dtypes` looks into a cache.
_CACHE_DEPTH = 6
_CACHE_VALUES = 10_000


def cache_dtypes(cache: Any) -> tuple[str, ...]:
    """The floating dtypes of the arrays in ``cache``, sorted: it is walked
    through mappings, sequences and objects' attributes, to a bounded depth
    and number of values (a cache is whatever the student made it)."""
    found = _flat_dtypes(cache)
    if found is None:
        found = _walked_dtypes(cache)
    return tuple(sorted({_dtype_name(dtype) for dtype in found}))


def _flat_dtypes(cache: Any) -> set[np.dtype[Any]] | None:
    """The floating dtypes of the usual cache, found faster than by
    :func:`_walked_dtypes` (which finds the same there): a dict, list or tuple
    of arrays and scalars, or of such dicts, lists and tuples (one per layer,
    say). None for any other cache."""
    found: set[np.dtype[Any]] = set()
    values = _items(cache)
    if values is None:
        return None
    count = len(values)
    for value in values:
        kind = type(value)
        if kind is np.ndarray:
            if value.dtype.kind == "f":
                found.add(value.dtype)
        elif kind not in _SCALARS:
            inner = _items(value)
            if inner is None:
                return None
            count += len(inner)
            for item in inner:
                if type(item) is np.ndarray:
                    if item.dtype.kind == "f":
                        found.add(item.dtype)
                elif type(item) not in _SCALARS:
                    return None
        if count >= _FAST_VALUES:
            return None
    return found


#: How many values a cache may hold for :func:`_flat_dtypes` to read it.
_FAST_VALUES = 1000


def _items(container: Any) -> Any:
    """The values of a dict, list or tuple (by exact type), else None."""
    kind = type(container)
    if kind is dict:
        return list(container.values())
    return container if kind is list or kind is tuple else None


def _walked_dtypes(cache: Any) -> set[np.dtype[Any]]:
    found: set[np.dtype[Any]] = set()
    pending: list[tuple[Any, int]] = [(cache, 0)]
    seen: set[int] = set()
    while pending and len(seen) < _CACHE_VALUES:
        value, depth = pending.pop()
        if id(value) in seen or depth > _CACHE_DEPTH:
            continue
        seen.add(id(value))
        kind = type(value)
        if kind in _SCALARS:  # the usual leaves, told apart first
            continue
        if kind is np.ndarray or isinstance(value, np.ndarray):
            if value.dtype.kind == "f":
                found.add(value.dtype)
        elif kind is dict or isinstance(value, Mapping):
            pending += [(item, depth + 1) for item in list(value.values())]
        elif kind is list or kind is tuple or isinstance(value, (list, tuple)):
            pending += [(item, depth + 1) for item in value]
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            pending += [(item, depth + 1) for item in list(vars(value).values())]
    return found


#: Leaves of a cache that hold no array (none has a ``__dict__`` to look into).
_SCALARS = frozenset({str, int, float, bool, type(None)})


#: Names of the floating dtypes met so far (``dtype.name`` is slow to ask each time).
_DTYPE_NAMES: dict[np.dtype[Any], str] = {}


def _dtype_name(dtype: np.dtype[Any]) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = dtype.name
    return name
