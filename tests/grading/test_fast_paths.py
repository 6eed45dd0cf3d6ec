"""The fast paths that a worker (and an in-process student) takes on every call
agree with the general code they shortcut, on any value a student may hand back."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

from bpcheck._sandbox.dtypes import _walked_dtypes, cache_dtypes
from bpcheck._sandbox.execute import _copy, mutated_parts

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.bool_]


class Holder:
    """An object whose attributes the general walk looks into."""

    def __init__(self, value: Any) -> None:
        self.value = value


def arrays() -> st.SearchStrategy[np.ndarray]:
    return st.builds(lambda dtype, n: np.ones(n, dtype), st.sampled_from(DTYPES), st.integers(0, 3))


leaves = st.one_of(arrays(), st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3))


def nested(objects: bool) -> st.SearchStrategy[Any]:
    """Arrays and scalars in dicts, lists and tuples (and with ``objects``, in
    objects' attributes, as a cache may hold them)."""

    def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        kinds = [
            st.lists(children, max_size=4),
            st.lists(children, max_size=4).map(tuple),
            st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), children, max_size=4),
        ]
        return st.one_of(*kinds, *([children.map(Holder)] if objects else []))

    return st.recursive(leaves, containers, max_leaves=12)


@hypothesis.settings(derandomize=True, max_examples=300, deadline=None)
@hypothesis.given(nested(objects=True))
@hypothesis.example([[[np.ones(1, np.float32)]]])  # past the two levels the fast path reads
@hypothesis.example({"layer": {"Z": np.ones(1, np.float16), "act": "relu"}, "AL": np.ones(1)})
@hypothesis.example([{"A": np.ones(1, np.float32)}, (np.ones(1), None), "x"])
@hypothesis.example({"x": Holder(np.ones(1, np.float32))})
@hypothesis.example(OrderedDict(A0=np.ones((3, 2))[::2], loss=np.float64(0.5)))  # subclasses, a view, a numpy scalar
@hypothesis.example([np.ones(2, np.float32).view(np.recarray), np.array([np.ones(1)], dtype=object)])
def test_the_dtypes_of_a_cache_are_those_the_general_walk_finds(cache: Any) -> None:
    assert cache_dtypes(cache) == tuple(sorted({dtype.name for dtype in _walked_dtypes(cache)}))


@hypothesis.settings(derandomize=True, max_examples=300, deadline=None)
@hypothesis.given(nested(objects=False))
def test_an_argument_is_copied_as_deepcopy_copies_it(argument: Any) -> None:
    copied = _copy(argument)
    assert _same_structure(copied, copy.deepcopy(argument))
    assert not {id(array) for array in _arrays(copied)} & {id(array) for array in _arrays(argument)}


#: The arguments the harness hands a student's function.
harness_arguments = st.one_of(
    arrays(),
    st.dictionaries(st.text(max_size=3), arrays(), max_size=4),
    st.lists(st.text(max_size=5), max_size=3),
    st.text(max_size=5),
    st.floats(allow_nan=False),
)


@hypothesis.settings(derandomize=True, max_examples=200, deadline=None)
@hypothesis.given(harness_arguments)
def test_an_argument_left_alone_is_not_reported_mutated(argument: Any) -> None:
    assert mutated_parts("argument", argument, _copy(argument)) == []


def _grown(params: dict[str, Any]) -> None:
    params["extra"] = np.ones(1)


def _written(params: dict[str, Any]) -> None:
    params["W1"][0, 0] += 1.0


@pytest.mark.parametrize("container", [dict, OrderedDict], ids=["dict", "OrderedDict"])
@pytest.mark.parametrize("change", [_grown, _written, lambda params: params.pop("b1")], ids=["key added", "array written", "key removed"])
def test_an_argument_changed_in_place_is_reported_mutated(container: type, change: Any) -> None:
    """The other half of the fast paths' contract: a change is seen, whatever its
    kind, in a plain dict or a subclass of one."""
    before = container(W1=np.ones((2, 2)), b1=np.zeros((2, 1)))
    after = _copy(before)
    change(after)
    assert mutated_parts("params", before, after) != []


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [array for item in value for array in _arrays(item)]
    return []


def _same_structure(mine: Any, theirs: Any) -> bool:
    if isinstance(theirs, np.ndarray):
        return (
            type(mine) is type(theirs) and mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
        )
    if isinstance(theirs, dict):
        return type(mine) is dict and list(mine) == list(theirs) and all(
            _same_structure(mine[key], theirs[key]) for key in theirs
        )
    if isinstance(theirs, (list, tuple)):
        return type(mine) is type(theirs) and len(mine) == len(theirs) and all(
            _same_structure(a, b) for a, b in zip(mine, theirs)
        )
    return bool(mine == theirs) and type(mine) is type(theirs)
