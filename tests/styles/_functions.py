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


def loss_function(name: str, as_float: bool = True) -> Lines:
    """The lesson's losses, batch means: ``compute_loss``, or a private helper
    (which keeps a complex loss complex when not ``as_float``)."""
    values = [
        "np.sum((AL - Y) ** 2) / M",
        "-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / M",
        "-np.sum(Y * np.log(AL)) / M",
    ]
    mse, bce, cce = (f"float({value})" if as_float else value for value in values)
    return block(
        f"def {name}(AL, Y, loss):",
        [
            "M = Y.shape[1]",
            'if loss == "mse":',
            f"    return {mse}",
            'if loss == "bce":',
            f"    return {bce}",
            f"return {cce}",
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


def numerical_loss(style: Style, bugs: Bugs) -> str | None:
    """The loss function a numerical backward calls, when the module must define
    one for it (``_loss``); None when it calls compute_loss."""
    if bugs.numerical == "complex_step" or style.compute_loss == "no_loss":
        return "_loss"
    return None


def numerical_backward(style: Style, bugs: Bugs) -> Lines:
    """A backward that differentiates the loss through forward(), by central
    differences or by the complex step."""
    container = CONTAINERS[style.cache]
    loss = numerical_loss(style, bugs) or "compute_loss"
    X = container.X() if style.layout == "columns" else f"{container.X()}.T"
    if bugs.numerical == "complex_step":
        doc, step = "the complex step", "1e-20"
        differences = [
            "shifted = {**params, name: value.astype(complex)}",
            "shifted[name][index] += 1j * h",
            f"grad[index] = {loss}(forward(shifted, X, activations)[0], Y, loss).imag / h",
        ]
    else:
        doc, step = "central differences", "1e-6"
        differences = [
            "shifted = {**params, name: value.copy()}",
            "shifted[name][index] = value[index] + h",
            f"up = {loss}(forward(shifted, X, activations)[0], Y, loss)",
            "shifted[name][index] = value[index] - h",
            f"down = {loss}(forward(shifted, X, activations)[0], Y, loss)",
            "grad[index] = (up - down) / (2 * h)",
        ]
    return block(
        f"def backward(params, {container.parameter}, Y, activations, loss):",
        [
            f'"""∂L/∂θ for every parameter by {doc} of the loss."""',
            *container.unpack(),
            f"X = {X}",
            f"h = {step}",
            "grads = {}",
            *block(
                "for name, value in params.items():",
                [
                    "grad = np.zeros(value.shape)",
                    *block("for index in np.ndindex(value.shape):", differences),
                    'grads["d" + name] = grad',
                ],
            ),
            "return grads",
        ],
    )
