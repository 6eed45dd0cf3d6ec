"""forward, compute_loss, update, and the backward that differentiates
numerically instead of backpropagating."""

from __future__ import annotations

from tests.styles._bugs import Bugs
from tests.styles._cache import CONTAINERS
from tests.styles._code import Lines, block, current_layer, float32, product
from tests.styles._style import Style


def casts_forward(style: Style) -> bool:
    return style.dtype in ("float32", "float32_forward")


def casts_backward(style: Style) -> bool:
    return style.dtype in ("float32", "float32_backward")


def _pre_activation(style: Style, bugs: Bugs, A: str) -> str:
    if style.layout == "columns":
        linear, bias = product(style.matmul, "W", A), " + b"
    else:
        linear, bias = product(style.matmul, A, "W", y_t=True), " + b.T"
    return linear + bias if bugs.forward_bias else linear


def forward(style: Style, bugs: Bugs) -> Lines:
    container = CONTAINERS[style.cache]
    layer = current_layer(style.indexing)
    cast = casts_forward(style)
    X = "X" if style.layout == "columns" else "X.T"
    if style.indexing == "numbered_layers":
        header, name = "for l in range(1, len(activations) + 1):", "activations[l - 1]"
    else:
        header, name = "for i, name in enumerate(activations):", "name"
    W, b = f"params[{layer.key('W')}]", f"params[{layer.key('b')}]"
    A = "A_prev" if container.keeps_A_prev else "A"
    body = [
        f"W, b = {float32(W)}, {float32(b)}" if cast else f"W, b = {W}, {b}",
        *(["A_prev = A"] if container.keeps_A_prev else []),
        f"Z = {_pre_activation(style, bugs, A)}",
        f"A = activate({name}, Z)",
        *container.store(layer),
    ]
    AL = "A" if style.layout == "columns" else "A.T"
    return block(
        "def forward(params, X, activations):",
        [
            f"A = {float32(X) if cast else X}",
            *container.start(),
            *block(header, body),
            f"return {AL}, {container.result()}",
        ],
    )


def loss_function(name: str) -> Lines:
    """The lesson's losses, batch means (``compute_loss``, or a private helper)."""
    return block(
        f"def {name}(AL, Y, loss):",
        [
            "M = Y.shape[1]",
            'if loss == "mse":',
            "    return float(np.sum((AL - Y) ** 2) / M)",
            'if loss == "bce":',
            "    return float(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / M)",
            "return float(-np.sum(Y * np.log(AL)) / M)",
        ],
    )


def update(style: Style, bugs: Bugs) -> Lines:
    header = "def update(params, grads, learning_rate):"
    if bugs.update_in_place:
        return block(
            header,
            [
                "for name in params:",
                '    params[name] -= learning_rate * grads["d" + name]',
                "return params",
            ],
        )
    if style.indexing == "listed_layers":
        return block(
            header,
            [
                "return {",
                '    name: value - learning_rate * grads["d" + name]',
                "    for name, value in params.items()",
                "}",
            ],
        )
    return block(
        header,
        [
            "new = {}",
            "for l in range(1, len(params) // 2 + 1):",
            '    new[f"W{l}"] = params[f"W{l}"] - learning_rate * grads[f"dW{l}"]',
            '    new[f"b{l}"] = params[f"b{l}"] - learning_rate * grads[f"db{l}"]',
            "return new",
        ],
    )


#: The step of the numerical differentiator.
STEP = "1e-6"


def numerical_backward(style: Style) -> Lines:
    """A backward that takes central differences of the loss through forward()."""
    container = CONTAINERS[style.cache]
    loss = "compute_loss" if style.compute_loss == "with_loss" else "_loss"
    X = container.X() if style.layout == "columns" else f"{container.X()}.T"
    return block(
        f"def backward(params, {container.parameter}, Y, activations, loss):",
        [
            '"""∂L/∂θ for every parameter by central differences of the loss."""',
            *container.unpack(),
            f"X = {X}",
            f"h = {STEP}",
            "grads = {}",
            *block(
                "for name, value in params.items():",
                [
                    "grad = np.zeros(value.shape)",
                    *block(
                        "for index in np.ndindex(value.shape):",
                        [
                            "shifted = {**params, name: value.copy()}",
                            "shifted[name][index] = value[index] + h",
                            f"up = {loss}(forward(shifted, X, activations)[0], Y, loss)",
                            "shifted[name][index] = value[index] - h",
                            f"down = {loss}(forward(shifted, X, activations)[0], Y, loss)",
                            "grad[index] = (up - down) / (2 * h)",
                        ],
                    ),
                    'grads["d" + name] = grad',
                ],
            ),
            "return grads",
        ],
    )
