"""The worker wire format: what the grader accepts, and what it refuses before reading."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
from collections.abc import Sequence
from typing import Any

import hypothesis
import hypothesis.strategies as st
import numpy as np
import numpy.lib.format as npy_format
import pytest

from bpcheck._sandbox.calls import (
    Call,
    DirectionProbe,
    ForwardCall,
    GradientCall,
    LossCall,
    Probe,
    ProbeCall,
    UpdateCall,
)
from bpcheck.grading.isolation import _wire as wire
from bpcheck.grading.isolation._protocol import call_tree, hello_report, reply_of, replies_of
from bpcheck.grading.isolation._wire import WireError


def reader(data: bytes):
    stream = io.BytesIO(data)
    asked: list[int] = []

    def read_exact(n: int) -> bytes:
        asked.append(n)
        chunk = stream.read(n)
        if len(chunk) != n:
            raise EOFError
        return chunk

    return read_exact, asked


def roundtrip(tree: object) -> Any:
    read_exact, _ = reader(b"".join(wire.encode(tree)))
    return wire.read_message(read_exact)


def frame(body: bytes, blobs: Sequence[bytes] = ()) -> bytes:
    data = struct.pack(">4sII", wire.MAGIC, len(body), len(blobs)) + body
    for blob in blobs:
        data += struct.pack(">Q", len(blob)) + blob
    return data


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    stream = io.BytesIO()
    npy_format.write_array_header_1_0(
        stream, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return stream.getvalue()


def test_arrays_round_trip_exactly() -> None:
    arrays: dict[str, np.ndarray] = {
        "f64": np.linspace(-1, 1, 12).reshape(3, 4),
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "view": np.arange(20.0).reshape(4, 5)[::2, 1::2],
        "int": np.arange(3, dtype=np.int16),
        "uint": np.arange(3, dtype=np.uint8),
        "bool": np.array([True, False]),
        "complex": np.array([1 + 2j, -0.5j], dtype=np.complex128),
        "complex64": np.array([3 - 1j], dtype=np.complex64),
        "longdouble": np.array([1.5], dtype=np.longdouble),
        "clongdouble": np.array([1.5 + 1j], dtype=np.clongdouble),
        "empty": np.zeros((0, 3)),
        "scalar": np.array(2.5),
        "nonfinite": np.array([np.nan, np.inf, -np.inf]),
        "big-endian": np.arange(3, dtype=">f8"),
    }
    got = roundtrip({"arrays": arrays, "list": [1, "two", None, 3.5, True]})
    assert got["list"] == [1, "two", None, 3.5, True]
    for name, array in arrays.items():
        assert got["arrays"][name].dtype == array.dtype and got["arrays"][name].shape == array.shape
        np.testing.assert_array_equal(got["arrays"][name], array)
        assert got["arrays"][name].flags.writeable


def test_calls_encode_to_plain_data() -> None:
    params = {"W1": np.ones((2, 2)), "b1": np.zeros((2, 1))}
    calls: list[Call] = [
        ForwardCall(params, np.ones((2, 3)), ("relu",)),
        GradientCall(params, np.ones((2, 3)), np.ones((2, 3)), ("relu",), "mse", 2),
        ProbeCall(
            params,
            np.ones((2, 3)),
            ("relu",),
            (Probe("W1", 3, 1e-5), DirectionProbe({"b1": np.full((2, 1), 0.5)}, -1e-3)),
        ),
        LossCall(np.ones((2, 3)), np.ones((2, 3)), "bce"),
        UpdateCall(params, {"dW1": np.ones((2, 2)), "db1": np.ones((2, 1))}, 0.5),
    ]
    for call in calls:
        tree = roundtrip(call_tree(call))
        assert tree["kind"] == type(call).__name__
    element, direction = roundtrip(call_tree(calls[2]))["fields"]["probes"]
    assert element == {"kind": "Probe", "parameter": "W1", "index": 3, "delta": 1e-5}
    assert direction["kind"] == "DirectionProbe" and direction["step"] == -1e-3
    assert np.array_equal(direction["direction"]["b1"], np.full((2, 1), 0.5))


def test_object_dtype_is_refused_both_ways() -> None:
    with pytest.raises(WireError, match="object"):
        wire.encode({"a": np.array([None, 1], dtype=object)})
    blob = npy_header("|O", (2,)) + b"\0" * 16
    with pytest.raises(WireError, match="not allowed"):
        wire.read_message(reader(frame(b'{"$array": 0}', [blob]))[0])


@pytest.mark.parametrize("descr", ["<M8[s]", "<m8[s]", "<U3", "|V8", "|S4"])
def test_only_numeric_dtypes(descr: str) -> None:
    dtype = np.dtype(descr)
    blob = npy_header(descr, (1,)) + b"\0" * dtype.itemsize
    with pytest.raises(WireError, match="not allowed"):
        wire.decode_array(blob)


def test_forged_shape_is_refused_without_allocating() -> None:
    """A header claiming 10^12 float64s (8 TB) over 16 bytes of data."""
    blob = npy_header("<f8", (10**6, 10**6)) + b"\0" * 16
    tracemalloc.start()
    try:
        with pytest.raises(WireError, match="more than"):
            wire.read_message(reader(frame(b'{"$array": 0}', [blob]))[0])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_forged_shape_within_the_element_cap_must_match_its_bytes() -> None:
    blob = npy_header("<f8", (1000,)) + b"\0" * 16
    with pytest.raises(WireError, match="needs 8000 bytes"):
        wire.decode_array(blob)


def test_forged_lengths_are_refused_before_reading() -> None:
    data = struct.pack(">4sII", wire.MAGIC, 2, 1) + b"{}" + struct.pack(">Q", 1 << 60)
    read_exact, asked = reader(data)
    with pytest.raises(WireError, match="budget"):
        wire.read_message(read_exact)
    assert max(asked) < 100  # it never asked for the 2^60 bytes
    read_exact, asked = reader(struct.pack(">4sII", wire.MAGIC, 1 << 31, 0))
    with pytest.raises(WireError, match="JSON part"):
        wire.read_message(read_exact)
    assert max(asked) < 100
    with pytest.raises(WireError, match="arrays"):
        wire.read_message(reader(struct.pack(">4sII", wire.MAGIC, 2, 1 << 30) + b"{}")[0])


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"$array": 5}',
        b'{"$array": "0"}',
    ],
    ids=["syntax", "not-utf8", "deep", "bad-reference", "string-reference"],
)
def test_malformed_json_is_refused(body: bytes) -> None:
    with pytest.raises(WireError):
        wire.read_message(reader(frame(body))[0])


@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")], ids=["lists", "objects"])
def test_the_reader_refuses_values_nested_past_max_depth(opening: bytes, closing: bytes) -> None:
    def nested(levels: int, inner: bytes) -> bytes:
        return opening * levels + inner + closing * levels

    depth = wire.MAX_DEPTH
    for inner in (b"1", b"[]", b"{}"):  # the innermost value lies at depth ``depth``
        wire.read_message(reader(frame(nested(depth, inner)))[0])
        with pytest.raises(WireError, match="nested too deeply"):
            wire.read_message(reader(frame(nested(depth + 1, inner)))[0])
    ok = nested(depth - 1, b'{"$array": 0}')  # a reference at the deepest place
    blob = npy_header("<f8", (1,)) + np.ones(1).tobytes()
    assert wire.read_message(reader(frame(ok, [blob]))[0]) is not None


def test_bad_magic_and_header_garbage() -> None:
    with pytest.raises(WireError, match="magic"):
        wire.read_message(reader(b"XXXX" + b"\0" * 8)[0])
    with pytest.raises(WireError, match="header"):
        wire.decode_array(b"\x93NUMPY\x01\x00\x10\x00{'descr': evil}  \n")
    with pytest.raises(WireError):
        wire.decode_array(b"\x93NUMPY\x01\x00\xff\xff" + b" " * 100)


def test_replies_must_fit_their_batch() -> None:
    call = GradientCall(
        {"W1": np.ones((1, 1))}, np.ones((1, 1)), np.ones((1, 1)), ("linear",), "mse", 2
    )
    good = {"AL": np.ones((1, 1)), "gradients": [{"dW1": np.ones((1, 1))}] * 2}
    replies, fatal = replies_of({"type": "replies", "replies": [good]}, [call])
    assert fatal is None and len(replies[0].gradients) == 2
    bad = [
        {**good, "gradients": [{"dW1": np.ones((1, 1))}]},  # one backward call short
        {**good, "AL": [[1.0]]},  # not an array
        {**good, "surprise": 1},
        {**good, "mutated": "X"},
        {**good, "mutated": [["X"]]},
        {**good, "error": {"function": "backward", "summary": 3}},
        {**good, "gradients": [{"dW1": np.ones((1, 1))}, ["dW1"]]},
        [],
    ]
    for tree in bad:
        with pytest.raises(WireError):
            replies_of({"type": "replies", "replies": [tree]}, [call])
    for message in [
        {"type": "replies", "replies": [good, good]},  # one reply too many
        {"type": "replies", "replies": []},  # too few, and no fatal status to say why
        {"type": "replies", "replies": [good], "fatal": "please give me full marks"},
        {"type": "hello"},
        [],
    ]:
        with pytest.raises(WireError):
            replies_of(message, [call])
    cut_short, fatal = replies_of({"type": "replies", "replies": [], "fatal": "memory_limit"}, [call])
    assert cut_short == [] and fatal == "memory_limit"
    loss = LossCall(np.ones((1, 1)), np.ones((1, 1)), "mse")
    with pytest.raises(WireError):
        reply_of({"loss": "0.0"}, loss)
    with pytest.raises(WireError):
        reply_of({"loss": True}, loss)
    nan_loss = reply_of({"loss": float("nan")}, loss).loss
    assert nan_loss is not None and np.isnan(nan_loss)


def test_the_grader_converts_returned_gradients_and_names_their_types() -> None:
    call = GradientCall({"W1": np.ones((1, 2))}, np.ones((2, 1)), np.ones((1, 1)), ("linear",), "mse")
    reply = reply_of({"AL": np.ones((1, 1)), "gradients": [{"dW1": [[1.0, 2.0]], "db1": 3}]}, call)
    assert reply.returned_types == {"dW1": "list", "db1": "int"}
    assert reply.grads["dW1"].shape == (1, 2) and reply.grads["db1"].dtype.kind == "i"
    words = reply_of({"AL": np.ones((1, 1)), "gradients": [{"dW1": "zero"}]}, call)
    assert words.error is not None and "must be a numpy array of numbers" in words.error.summary
    huge = reply_of({"AL": np.ones((1, 1)), "gradients": [{"dW1": [[10**400, 1]]}]}, call)
    assert huge.error is not None and "must be a numpy array of numbers" in huge.error.summary
    said = {"AL": np.ones((1, 1)), "gradients": [{"dW1": np.ones((1, 2))}]}
    worker = reply_of({**said, "returned_types": {"dW1": "list"}}, call)
    assert worker.returned_types == {"dW1": "list"}  # the worker's word on what it converted
    with pytest.raises(WireError):
        reply_of({**said, "returned_types": {"dW1": 3}}, call)
    unsent = reply_of({**said, "returned_types": {"dW1": "list", "db9": "list"}}, call)
    assert unsent.returned_types == {"dW1": "list"}  # of a key it did not send: nothing
    forward = ForwardCall(call.params, call.X, call.activations)
    with pytest.raises(WireError, match="no gradients"):
        reply_of({"AL": np.ones((1, 1)), "returned_types": {"dW1": "list"}}, forward)


def test_hello_is_checked() -> None:
    report, fatal = hello_report(
        {"type": "hello", "import_error": None, "problems": [], "optional": ["update"],
         "warnings": ["cell 2 raised, and the notebook was loaded without it: ..."]}
    )  # fmt: skip
    assert report.usable and report.optional == {"update"} and fatal is None
    assert report.warnings == ("cell 2 raised, and the notebook was loaded without it: ...",)
    for tree in [
        {"type": "hello", "warnings": "cell 2 raised"},
        {"type": "hello", "warnings": [3]},
        {"type": "hello", "warnings": ["x" * 20_001]},
        {"type": "hello", "optional": ["os.system"]},
        {"type": "hello", "optional": [["update"]]},  # a list where a name is expected
        {"type": "hello", "problems": "none"},
        {"type": "hello", "problems": [{"a": 1}]},
        {"type": "hello", "import_error": {"function": "import"}},
        {"type": "reply"},
    ]:
        with pytest.raises(WireError):
            hello_report(tree)


def test_json_part_is_plain_json() -> None:
    chunks = wire.encode({"x": np.ones(2), "y": 1.5})
    assert json.loads(chunks[1]) == {"x": {"$array": 0}, "y": 1.5}
    assert b"pickle" not in b"".join(chunks) and b"\x80\x04" not in chunks[1]


def test_a_huge_forged_shape_of_no_elements_is_a_wire_error() -> None:
    """(0, 2**62) holds no element, so it passes the element cap; numpy cannot build it."""
    blob = npy_header("<f8", (0, 2**62))
    with pytest.raises(WireError):
        wire.decode_array(blob)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["type", "replies", "AL", "gradients", "returned_types",
                                        "error", "mutated", "optional", "problems", "warnings",
                                        "fatal", "function", "summary", "$array", "x"]),
                      children, max_size=4),  # fmt: skip
    max_leaves=12,
)
ARRAYS = st.sampled_from([np.ones((1, 1)), np.zeros((0,)), np.arange(3)])


@hypothesis.settings(derandomize=True, max_examples=120, database=None, deadline=None)
@hypothesis.given(JSON, st.lists(ARRAYS, max_size=2))
def test_any_message_either_decodes_or_is_a_wire_error(tree: Any, arrays: list[np.ndarray]) -> None:
    """Whatever the worker sends, the decoders raise WireError or nothing: never a
    TypeError or KeyError that would end as the grader's own error."""
    call = GradientCall({"W1": np.ones((1, 1))}, np.ones((1, 1)), np.ones((1, 1)), ("linear",), "mse")
    if isinstance(tree, dict) and arrays:
        tree = {**tree, "AL": arrays[0]}
    for decode in (
        lambda: hello_report(tree),
        lambda: replies_of(tree, [call]),
        lambda: replies_of({"type": "replies", "replies": [tree]}, [call]),
        lambda: hello_report({"type": "hello", **tree}) if isinstance(tree, dict) else None,
    ):
        try:
            decode()
        except WireError:
            pass


def test_the_grader_and_the_worker_agree_on_caps_and_call_tables() -> None:
    """The worker's copy of the harness trims and names things as the grader checks them."""
    from typing import get_args

    from bpcheck._sandbox import execute, worker_main
    from bpcheck._student import OPTIONAL_ARITY, REQUIRED_ARITY
    from bpcheck.grading.isolation import _protocol

    kinds = set(get_args(Call))
    assert set(execute.FUNCTION_OF_CALL) == set(execute._HANDLERS) == kinds
    assert _protocol.FUNCTION_OF_CALL is execute.FUNCTION_OF_CALL  # the worker's copy's too
    assert set(execute.FUNCTION_OF_CALL.values()) <= {*REQUIRED_ARITY, *OPTIONAL_ARITY}
    assert worker_main.MAX_KEY == _protocol.MAX_NAME
    assert worker_main.MAX_ENTRIES == _protocol.MAX_ENTRIES
    assert worker_main.MAX_TEXT == _protocol.MAX_TEXT
    assert 0 < worker_main.MARGIN < wire.MAX_JSON_BYTES < wire.MAX_MESSAGE_BYTES
    # Whatever a student's arrays may be in-process can reach the grader from a worker.
    assert wire.ALLOWED_KINDS == execute.NUMBER_KINDS


def test_a_trusted_tree_encodes_to_the_same_message() -> None:
    tree = {"calls": [{"x": np.arange(3.0), "n": np.int64(4), "s": "a", "l": [1, 2.5, None]}]}
    assert b"".join(wire.encode_trusted(tree)) == b"".join(wire.encode(tree))
    with pytest.raises(WireError):
        wire.encode_trusted({"a": np.array([None], dtype=object)})
