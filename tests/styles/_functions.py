"""forward, compute_loss, update, and the backward that differentiates
numerically instead of backpropagating."""

from __future__ import annotations

from tests.styles._bugs import Bugs
from tests.styles._cache import CONTAINERS
from tests.styles._code import Layer, Lines, block, current_layer, float32, product
from tests.styles._style import Style


def casts_forward(style: Style) -> bool:
    return style.dtype in ("float32", "float32_forward")


def casts_backward(style: Style) -> bool:
    return style.dtype in ("float32", "float32_backward")


def layer_parameters(style: Style) -> tuple[str, ...]:
    """The parameters of every layer, in params' order: W and b, or W alone without biases."""
    return ("W", "b") if style.has_biases else ("W",)


def _pre_activation(style: Style, bugs: Bugs, A: str) -> str:
    """z = W a + b in the style's layout; W a alone without biases, or with the bias
    left out; made complex with ``complex_forward``."""
    if style.layout == "columns":
        linear, bias = product(style.matmul, "W", A), " + b"
    else:
        linear, bias = product(style.matmul, A, "W", y_t=True), " + b.T"
    z = linear + bias if style.has_biases and bugs.forward_bias else linear
    return f"{z} + 0j" if bugs.complex_forward else z


def _read_parameters(style: Style, layer: Layer) -> str:
    """Forward's line reading ``layer``'s parameters into locals (as float32 if the style casts)."""
    names = layer_parameters(style)
    reads = [f"params[{layer.key(name)}]" for name in names]
    if casts_forward(style):
        reads = [float32(read) for read in reads]
    return f"{', '.join(names)} = {', '.join(reads)}"


def forward(style: Style, bugs: Bugs) -> Lines:
    container = CONTAINERS[style.cache]
    layer = current_layer(style.indexing)
    cast = casts_forward(style)
    X = "X" if style.layout == "columns" else "X.T"
    if style.indexing == "numbered_layers":
        header, name = "for l in range(1, len(activations) + 1):", "activations[l - 1]"
    else:
        header, name = "for i, name in enumerate(activations):", "name"
    A = "A_prev" if container.keeps_A_prev else "A"
    body = [
        _read_parameters(style, layer),
        *(["A_prev = A"] if container.keeps_A_prev else []),
        f"Z = {_pre_activation(style, bugs, A)}",
        f"A = activate({name}, Z)",
        *container.store(layer, ", ".join(layer_parameters(style))),
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
    names = layer_parameters(style)
    layers = "len(params)" if len(names) == 1 else f"len(params) // {len(names)}"
    steps = [
        f'new[f"{name}{{l}}"] = params[f"{name}{{l}}"] - learning_rate * grads[f"d{name}{{l}}"]'
        for name in names
    ]
    return block(
        header,
        ["new = {}", *block(f"for l in range(1, {layers} + 1):", steps), "return new"],
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
