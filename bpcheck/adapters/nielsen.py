"""The ``nielsen`` adapter: Michael Nielsen's ``network.py`` and ``network2.py``.

Course API expected::

    class Network:
        def __init__(self, sizes): ...        # self.weights, self.biases: lists, layer 1 first
        def feedforward(self, a): ...         # a: one column (n0, 1)
        def backprop(self, x, y): ...         # -> (nabla_b, nabla_w) for one example's cost

with ``weights[l]`` of shape (n_l+1, n_l) and ``biases[l]`` of shape
(n_l+1, 1), the lesson's layout. The adapter builds ``Network(sizes)`` for
each case and overwrites both lists; the batch gradient is the mean of
``backprop`` over the examples, times 2 for ``network.py``'s quadratic cost
½‖a − y‖² per example (the lesson's mse is ‖ŷ − y‖² averaged: the ½ is the
book's convention, not a mistake). ``network2.py``'s ``CrossEntropyCost`` is
the lesson's bce. ``update_mini_batch`` takes no gradients, so the ``update``
check does not apply; the declarative adapter's ``step`` with
``mini_batch`` checks it (docs/adapters/declarative.md).

Default scope: sigmoid hidden and output layers, mse (``network.py``) or bce
(``network2.py``, recognised by its ``CrossEntropyCost`` class), depth 1–4.
"""

from __future__ import annotations

from bpcheck._hookimpl import hookimpl
from bpcheck._scope import Scope
from bpcheck.adapters._adapter import Adapter, AdapterRequest, StudentSource, Vocabulary
from bpcheck.adapters._claim import Variant, claim

NAME = "nielsen"


def _vocabulary(program: str, chapter: int) -> Vocabulary:
    return Vocabulary(
        gradients={"W": "nabla_w[{index}]", "b": "nabla_b[{index}]"},
        parameters={"W": "weights[{index}]", "b": "biases[{index}]"},
        functions={"forward": "Network.feedforward", "backward": "Network.backprop"},
        starter=f"the book's `{program}` (chapter {chapter} of *Neural Networks and Deep Learning*)",
    )


_SIGMOID = dict(hidden_activations=("sigmoid",), output_activations=("sigmoid",))
VARIANTS = (
    Variant(
        ("Network.backprop", "CrossEntropyCost"),
        Scope(losses=("bce",), **_SIGMOID),  # type: ignore[arg-type]
        _vocabulary("network2.py", 3),
        {"cost": "cross_entropy"},
    ),
    Variant(
        ("Network.backprop",),
        Scope(losses=("mse",), **_SIGMOID),  # type: ignore[arg-type]
        _vocabulary("network.py", 1),
        {"cost": "quadratic"},
    ),
)


@hookimpl
def bpcheck_adapter(
    student: StudentSource, request: AdapterRequest, declined: list[str]
) -> Adapter | None:
    return claim(NAME, VARIANTS, student, request, declined)
