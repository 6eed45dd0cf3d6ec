"""The ``cs231n`` adapter: Stanford CS231n, assignment 2 (and assignment 1's ``TwoLayerNet``).

Course API expected, one of::

    class FullyConnectedNet:   # FullyConnectedNet(hidden_dims, input_dim, num_classes, reg, dtype, ...)
        params                 # {"W1": (in, out), "b1": (out,), ...}
        def loss(self, X, y=None): ...   # scores (N, C), or (loss, grads) with grads keyed like params
    class TwoLayerNet: ...     # the same, with (input_dim, hidden_dim, num_classes) or
                               # (input_size, hidden_size, output_size) and loss(X, y, reg)
    affine_forward(x, w, b) -> (out, cache);  affine_backward(dout, cache) -> (dx, dw, db)
    relu_forward(x) -> (out, cache);          relu_backward(dout, cache) -> dx
    softmax_loss(x, y) -> (loss, dx)

Batch-first X (N, D), W of shape (in, out), b of shape (out,), y holding
class indices. The adapter builds the net with each case's sizes, ``reg=0``
and ``dtype=np.float64`` (the course's float32 is its default, not the
student's choice), then overwrites ``params``; with layer functions alone it
chains them as ``FullyConnectedNet`` does.

Default scope: ReLU hidden layers, a softmax output (the scores' softmax is
ŷ) of at least 2 classes, cce, one-hot labels (given as indices), depth 2–4
for ``FullyConnectedNet``, 2 for ``TwoLayerNet``, 1–4 for the layer functions;
L2 regularisation (the ``regularisation`` check) for the two nets, which take ``reg``.
"""

from __future__ import annotations

from bpcheck._hookimpl import hookimpl
from bpcheck._scope import Scope
from bpcheck.adapters._adapter import Adapter, AdapterRequest, StudentSource, Vocabulary
from bpcheck.adapters._claim import Variant, claim

NAME = "cs231n"
_SOFTMAX = dict(hidden_activations=("relu",), losses=("cce",), hard_labels=True)


def _vocabulary(owner: str, starter: str) -> Vocabulary:
    return Vocabulary(
        gradients={"W": "grads['W{layer}']", "b": "grads['b{layer}']"},
        parameters={"W": "params['W{layer}']", "b": "params['b{layer}']"},
        functions={"forward": f"{owner}(X)", "backward": f"{owner}(X, y)", "compute_loss": "softmax_loss"},
        batch_first=True,
        weights_in_out=True,
        bias="flat",
        class_indices=True,
        starter=f"the assignment's starter code ({starter})",
    )


VARIANTS = (
    Variant(
        ("FullyConnectedNet.loss",),
        Scope(min_depth=2, regularised=True, **_SOFTMAX),  # type: ignore[arg-type]
        _vocabulary("FullyConnectedNet.loss", "assignment 2's `cs231n/classifiers/fc_net.py`"),
        {"model": "FullyConnectedNet"},
    ),
    Variant(
        ("TwoLayerNet.loss",),
        Scope(min_depth=2, max_depth=2, regularised=True, **_SOFTMAX),  # type: ignore[arg-type]
        _vocabulary(
            "TwoLayerNet.loss",
            "`cs231n/classifiers/fc_net.py`, or `cs231n/classifiers/neural_net.py` in older years",
        ),
        {"model": "TwoLayerNet"},
    ),
    Variant(
        ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss"),
        Scope(**_SOFTMAX),  # type: ignore[arg-type]
        _vocabulary("the layer functions", "assignment 2's `cs231n/layers.py`"),
    ),
)


@hookimpl
def bpcheck_adapter(
    student: StudentSource, request: AdapterRequest, declined: list[str]
) -> Adapter | None:
    return claim(NAME, VARIANTS, student, request, declined)
