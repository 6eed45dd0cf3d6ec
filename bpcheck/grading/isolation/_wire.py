"""The wire format between the grader and an isolated worker: JSON and ``.npy``, no pickle.

A message is::

    b"BPW1" | u32 json_length | u32 array_count | json | (u64 npy_length | npy) * array_count

(big-endian lengths). The JSON is a tree of objects, lists, strings, numbers,
booleans and null in which ``{"$array": i}`` stands for the i-th array. Each
array travels as a ``.npy`` blob written with ``allow_pickle=False``.

Reading is defensive because the grader reads what student code may have
forged: every length is checked against a budget *before* the bytes are read,
and every ``.npy`` header is parsed on its own and checked (numeric dtype of
kind bool/int/uint/float/complex, no object or structured dtypes, at most
``MAX_ELEMENTS`` elements, a byte count that matches the declared length)
before an array is built. A forged header therefore cannot make the reader
allocate more than the message budget. Anything wrong raises :class:`WireError`.
The worker reads the grader's requests, which it trusts and which carry no
``.npy`` arrays (their inputs are in shared memory), with :func:`read_trusted`.

This module imports only the standard library and NumPy, by absolute import,
so that it can be copied into the worker's private package unchanged.
"""

from __future__ import annotations

import io
import json
import math
import struct
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.lib.format as npy_format

MAGIC = b"BPW1"
_HEAD = struct.Struct(">4sII")
_LENGTH = struct.Struct(">Q")

#: Caps on one message (the reader's budget).
MAX_JSON_BYTES = 4 << 20
MAX_MESSAGE_BYTES = 64 << 20
MAX_ARRAYS = 4096
MAX_ELEMENTS = 16 << 20
MAX_NDIM = 16
MAX_DEPTH = 16
MAX_NPY_HEADER = 4096
#: Dtype kinds allowed on the wire: bool, signed and unsigned integers, floats,
#: complex numbers. They are the kinds a student's arrays may have in-process
#: (``bpcheck._sandbox.execute.NUMBER_KINDS``), so that a worker sends the grader
#: whatever the checks would judge in-process: a complex gradient fails
#: gradient_shapes, named, in both, instead of costing the call in a worker.
ALLOWED_KINDS = "biufc"
#: The largest item allowed: a complex long double.
MAX_ITEMSIZE = 32

#: Reads exactly n bytes or raises (EOFError at end of stream, WireError, TimeoutError, ...).
ReadExact = Callable[[int], bytes]


class WireError(Exception):
    """A message that breaks the wire format; the text says how."""


def allowed_dtype(dtype: np.dtype) -> bool:
    return (
        dtype.kind in ALLOWED_KINDS
        and dtype.fields is None
        and dtype.subdtype is None
        and dtype.itemsize <= MAX_ITEMSIZE
    )


# ------------------------------------------------------------------ writing


def encode(tree: Any) -> list[bytes]:
    """``tree`` as the chunks of one message; arrays anywhere in it travel as ``.npy``.

    Raises WireError for values the wire cannot carry (an array of a dtype
    outside :data:`ALLOWED_KINDS`, a non-string key, an unknown type).
    """
    arrays: list[np.ndarray] = []

    def walk(value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("the message is nested too deeply")
        if isinstance(value, np.ndarray):
            if not allowed_dtype(value.dtype):
                raise WireError(f"an array of dtype {value.dtype} cannot be sent")
            arrays.append(value)
            return {"$array": len(arrays) - 1}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise WireError("object keys must be strings")
            return {key: walk(item, depth + 1) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item, depth + 1) for item in value]
        if isinstance(value, np.generic):
            return walk(value.item(), depth)
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise WireError(f"a {type(value).__name__} cannot be sent")

    body = json.dumps(walk(tree, 0), separators=(",", ":")).encode()
    return _frame(body, arrays)


def encode_trusted(tree: Any) -> list[bytes]:
    """:func:`encode` for a tree known to be sendable: one the grader built itself,
    or a worker's replies of checked values only (string keys, JSON values, numpy
    arrays and scalars, not too deep). The same message, written by json's C
    encoder, without the depth and key checks."""
    arrays: list[np.ndarray] = []

    def place(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if not allowed_dtype(value.dtype):
                raise WireError(f"an array of dtype {value.dtype} cannot be sent")
            arrays.append(value)
            return {"$array": len(arrays) - 1}
        if isinstance(value, np.generic):
            return value.item()
        raise WireError(f"a {type(value).__name__} cannot be sent")

    # A tree known to be sendable holds no cycle: json need not look for one.
    body = json.dumps(tree, separators=(",", ":"), default=place, check_circular=False).encode()
    return _frame(body, arrays)


def _frame(body: bytes, arrays: list[np.ndarray]) -> list[bytes]:
    chunks = [_HEAD.pack(MAGIC, len(body), len(arrays)), body]
    for array in arrays:
        header, order = _header_of(array)
        data = array.tobytes(order=order)
        chunks += [_LENGTH.pack(len(header) + len(data)), header, data]
    return chunks


#: .npy headers by (dtype, order, shape): messages repeat the same few shapes.
_WRITTEN: dict[tuple[str, bool, tuple[int, ...]], bytes] = {}
_PARSED: dict[bytes, tuple[tuple[int, ...], bool, np.dtype]] = {}
_CACHE_SIZE = 1024


def _header_of(array: np.ndarray) -> tuple[bytes, Literal["C", "F"]]:
    """The ``.npy`` header of ``array`` (as ``write_array`` would write it) and its data order."""
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    key = (array.dtype.str, fortran, array.shape)
    header = _WRITTEN.get(key)
    if header is None:
        stream = io.BytesIO()
        npy_format.write_array_header_1_0(stream, npy_format.header_data_from_array_1_0(array))
        header = stream.getvalue()
        if len(_WRITTEN) >= _CACHE_SIZE:
            _WRITTEN.clear()
        _WRITTEN[key] = header
    return header, "F" if fortran else "C"


# ------------------------------------------------------------------ reading


def read_message(read_exact: ReadExact, budget: int = MAX_MESSAGE_BYTES) -> Any:
    """Read one message with ``read_exact`` and return its tree with arrays in place.

    At most ``budget`` bytes are read in all; each length is checked before
    the bytes it announces are read.
    """
    magic, json_length, count = _HEAD.unpack(read_exact(_HEAD.size))
    if magic != MAGIC:
        raise WireError(f"bad magic {magic!r}")
    if json_length > MAX_JSON_BYTES:
        raise WireError(f"the JSON part claims {json_length} bytes (cap {MAX_JSON_BYTES})")
    if count > MAX_ARRAYS:
        raise WireError(f"the message claims {count} arrays (cap {MAX_ARRAYS})")
    remaining = budget - _HEAD.size - json_length
    if remaining < 0:
        raise WireError(f"the message is larger than its budget of {budget} bytes")
    try:
        tree = json.loads(read_exact(json_length).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise WireError(f"malformed JSON: {type(exc).__name__}") from None
    arrays = []
    for _ in range(count):
        (length,) = _LENGTH.unpack(read_exact(_LENGTH.size))
        remaining -= _LENGTH.size + length
        if remaining < 0:
            raise WireError(f"the message is larger than its budget of {budget} bytes")
        arrays.append(decode_array(read_exact(length)))
    return _resolve(tree, arrays, 0)


def read_trusted(read_exact: ReadExact, object_hook: Callable[[dict[str, Any]], Any]) -> Any:
    """Read one message from a peer this side trusts (the worker reading the
    grader's requests): its JSON decoded with ``object_hook`` for every object,
    which may turn references into arrays. Such a message carries no ``.npy``
    arrays; one that does, or has a bad magic, raises WireError."""
    magic, json_length, count = _HEAD.unpack(read_exact(_HEAD.size))
    if magic != MAGIC or count:
        raise WireError(f"not a trusted message (magic {magic!r}, {count} arrays)")
    return json.loads(read_exact(json_length), object_hook=object_hook)


def decode_array(blob: bytes) -> np.ndarray:
    """One ``.npy`` blob as an array, after checking its header against its length.
    Raises WireError and nothing else."""
    shape, fortran, dtype, offset = _parse_header(blob)
    elements = math.prod(shape)
    if len(blob) - offset != elements * dtype.itemsize:
        raise WireError(
            f"an array of shape {shape} and dtype {dtype} needs {elements * dtype.itemsize} "
            f"bytes; the message holds {len(blob) - offset}"
        )
    try:
        flat = np.frombuffer(blob, dtype=dtype, count=elements, offset=offset)
        return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")
    except (ValueError, TypeError, MemoryError) as exc:  # numpy's own refusal
        raise WireError(f"an array of shape {shape} cannot be built: {exc}"[:300]) from None


def _parse_header(blob: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset of a ``.npy`` blob, all checked.

    Parsed with numpy's own reader (``read_magic``, ``read_array_header_*``);
    a header seen before is looked up by its exact bytes instead.
    """
    if len(blob) >= 10 and blob[6:8] in (b"\x01\x00", b"\x02\x00"):
        size = (
            10 + int.from_bytes(blob[8:10], "little")
            if blob[6] == 1
            else 12 + int.from_bytes(blob[8:12], "little")
        )
        known = _PARSED.get(blob[:size]) if size <= MAX_NPY_HEADER + 12 else None
        if known is not None:
            return (*known, size)
    stream = io.BytesIO(blob)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(
                stream, max_header_size=MAX_NPY_HEADER
            )
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(
                stream, max_header_size=MAX_NPY_HEADER
            )
        else:
            raise WireError(f"unsupported .npy version {version}")
    except WireError:
        raise
    except Exception as exc:  # numpy raises ValueError and friends for bad headers
        raise WireError(f"bad .npy header: {type(exc).__name__}: {exc}"[:300]) from None
    if not allowed_dtype(dtype):
        raise WireError(f"arrays of dtype {dtype} are not allowed")
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)
    ):
        raise WireError(f"bad array shape {shape!r}"[:300])
    if math.prod(shape) > MAX_ELEMENTS:
        raise WireError(f"an array of shape {shape} has more than {MAX_ELEMENTS} elements")
    offset = stream.tell()
    if len(_PARSED) >= _CACHE_SIZE:
        _PARSED.clear()
    _PARSED[blob[:offset]] = (shape, fortran, dtype)
    return shape, fortran, dtype, offset


def _resolve(value: Any, arrays: list[np.ndarray], depth: int) -> Any:
    """``value`` (at ``depth``) with its array references replaced by the arrays;
    WireError for anything at a depth past MAX_DEPTH."""
    if isinstance(value, dict):
        if len(value) == 1 and "$array" in value:
            index = value["$array"]
            if type(index) is not int or not 0 <= index < len(arrays):
                raise WireError(f"bad array reference {index!r}"[:100])
            return arrays[index]
        _check_depth(value, depth)
        return {
            key: _resolve(item, arrays, depth + 1) if type(item) in _NESTED else item
            for key, item in value.items()
        }
    if isinstance(value, list):
        _check_depth(value, depth)
        return [_resolve(item, arrays, depth + 1) if type(item) in _NESTED else item for item in value]
    return value


def _check_depth(container: dict[str, Any] | list[Any], depth: int) -> None:
    """Its items lie one deeper: none may lie past MAX_DEPTH."""
    if container and depth >= MAX_DEPTH:
        raise WireError("the message is nested too deeply")


#: What JSON nests: the values :func:`_resolve` looks into (it leaves the others as they are).
_NESTED = (dict, list)


def blocking_reader(sock: Any) -> ReadExact:
    """``read_exact`` over a blocking socket (the worker's side)."""

    pending = bytearray()

    def read_exact(n: int) -> bytes:
        while len(pending) < n:
            chunk = sock.recv(max(n - len(pending), 1 << 16))
            if not chunk:
                raise EOFError("the other side closed the channel")
            pending.extend(chunk)
        data = bytes(pending[:n])
        del pending[:n]
        return data

    return read_exact
