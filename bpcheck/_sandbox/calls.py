"""The one interface between the harness and student code, as plain data.

The harness never calls a student's function directly. It builds one of the
``*Call`` requests below and hands it to a :class:`~bpcheck._student.Student`,
which answers with a :class:`Reply`. Requests and replies hold only numpy
arrays of numbers, strings and numbers, so that a student can equally be run
in this process or in an isolated worker that speaks JSON and ``.npy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from numpy.typing import NDArray

Array = NDArray[Any]


@dataclass(frozen=True)
class ForwardCall:
    """``forward(params, X, activations)``; the reply carries AL."""

    params: dict[str, Array]
    X: Array
    activations: tuple[str, ...]


@dataclass(frozen=True)
class GradientCall:
    """``forward`` then ``backward`` ``backward_calls`` times on the same cache;
    the reply carries AL and one gradient dict per backward call."""

    params: dict[str, Array]
    X: Array
    Y: Array
    activations: tuple[str, ...]
    loss: str
    backward_calls: int = 1


@dataclass(frozen=True)
class Probe:
    """Add ``delta`` to element ``index`` (flat, C order) of ``params[parameter]``."""

    parameter: str
    index: int
    delta: float


@dataclass(frozen=True)
class DirectionProbe:
    """Add ``step`` × ``direction[name]`` to ``params[name]`` for every name in
    ``direction`` (each array of its parameter's shape); other parameters stay."""

    direction: dict[str, Array]
    step: float


@dataclass(frozen=True)
class ProbeCall:
    """``forward`` once per probe, each on a perturbed copy of params; the reply
    carries the AL of every probe stacked on a new first axis."""

    params: dict[str, Array]
    X: Array
    activations: tuple[str, ...]
    probes: tuple[Probe | DirectionProbe, ...]


@dataclass(frozen=True)
class LossCall:
    """``compute_loss(AL, Y, loss)``; the reply carries the loss."""

    AL: Array
    Y: Array
    loss: str


@dataclass(frozen=True)
class UpdateCall:
    """``update(params, grads, learning_rate)``; the reply carries the new params."""

    params: dict[str, Array]
    grads: dict[str, Array]
    learning_rate: float


@dataclass(frozen=True)
class RegularisedCall:
    """``regularised(params, X, Y, activations, loss, reg)``: the course's loss
    with an L2 penalty of strength ``reg`` (CS231n's ``reg``), and its
    gradients; the reply carries the loss and one gradient dict."""

    params: dict[str, Array]
    X: Array
    Y: Array
    activations: tuple[str, ...]
    loss: str
    reg: float


Call = Union[ForwardCall, GradientCall, ProbeCall, LossCall, UpdateCall, RegularisedCall]


@dataclass(frozen=True)
class StudentError:
    """Student code raised, or returned something the contract does not allow.

    ``function`` is the student function at fault, ``summary`` one line saying
    what happened, ``traceback`` the student's own frames (empty when the
    code returned rather than raised), and ``exception`` the name of the
    exception type it raised, if any.
    """

    function: str
    summary: str
    traceback: str = ""
    exception: str = ""


@dataclass
class Reply:
    """What came back from one call. Arrays are copies the student cannot touch.

    ``returned_types`` names what the student returned where it was not a
    numpy array (``{"dW1": "list"}``); such values are still converted to arrays
    when they hold numbers. ``mutated`` lists the arguments that the student
    changed in place, e.g. ``("params['W1']", "X")``. ``cache_dtypes`` names the
    floating dtypes of the arrays found in forward's cache (``("float32",)``),
    so that precision can be judged by what the student computed in.
    """

    AL: Array | None = None
    gradients: list[dict[str, Array]] = field(default_factory=list)
    returned_types: dict[str, str] = field(default_factory=dict)
    loss: float | None = None
    params: dict[str, Array] | None = None
    probes: Array | None = None
    mutated: tuple[str, ...] = ()
    cache_dtypes: tuple[str, ...] = ()
    error: StudentError | None = None

    @property
    def grads(self) -> dict[str, Array]:
        """The gradients of the first backward call."""
        return self.gradients[0]

