"""The ``functional`` adapter: bpcheck's own contract, as ``bpcheck init`` writes it.

Course API expected::

    forward(params, X, activations) -> (AL, cache)
    backward(params, cache, Y, activations, loss) -> {"dW1": ..., "db1": ..., ...}
    compute_loss(AL, Y, loss) -> float                 # optional
    update(params, grads, learning_rate) -> params     # optional

in the lesson's layout: X (n0, M), W (out, in), b (out, 1), Y (nL, M).

Default scope: every hidden activation (linear, relu, sigmoid, tanh), every
loss (mse with any output but softmax, bce with sigmoid, cce with softmax),
depth 1–4, widths ≤ 8, hard or soft labels.

It answers "auto" when the module defines ``forward`` and ``backward``, and
it runs last, so a course adapter that recognises a module wins.
"""

from __future__ import annotations

from bpcheck._hookimpl import hookimpl
from bpcheck._scope import Scope
from bpcheck.adapters._adapter import Adapter, AdapterRequest, StudentSource, Vocabulary
from bpcheck.adapters._claim import Variant, claim

NAME = "functional"
#: The contract's params dict simply lacks the bℓ of a network without biases.
VARIANTS = (Variant(("forward", "backward"), Scope(), Vocabulary(), biases=(True, False)),)


@hookimpl(trylast=True)
def bpcheck_adapter(
    student: StudentSource, request: AdapterRequest, declined: list[str]
) -> Adapter | None:
    return claim(NAME, VARIANTS, student, request, declined)
