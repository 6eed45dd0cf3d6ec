"""The activation helpers of a generated module: sigmoid, softmax, activate(name, z)
and derivative(name, z[, a]), one small function per axis value."""

from __future__ import annotations

from tests.styles._bugs import Bugs
from tests.styles._code import Lines, block
from tests.styles._style import Style

_SIGMOID = {
    "sigmoid_exp": "1 / (1 + np.exp(-z))",
    "sigmoid_tanh": "(1 + np.tanh(z / 2)) / 2",
    "sigmoid_logaddexp": "np.exp(-np.logaddexp(0, -z))",
}


def units_axis(style: Style) -> int:
    """The axis of a batch array that runs over units (the other runs over examples)."""
    return 0 if style.layout == "columns" else 1


def sigmoid(style: Style) -> Lines:
    return block("def sigmoid(z):", [f"return {_SIGMOID[style.sigmoid]}"])


def softmax(style: Style, bugs: Bugs) -> Lines:
    axis = f"axis={units_axis(style)}, keepdims=True"
    shift = bugs.softmax_stable
    if style.softmax == "max_shift":
        body = [
            f"e = np.exp(z - np.max(z, {axis}))" if shift else "e = np.exp(z)",
            f"return e / np.sum(e, {axis})",
        ]
    elif shift:
        body = [
            f"top = np.max(z, {axis})",
            f"log_total = top + np.log(np.sum(np.exp(z - top), {axis}))",
            "return np.exp(z - log_total)",
        ]
    else:
        body = [f"log_total = np.log(np.sum(np.exp(z), {axis}))", "return np.exp(z - log_total)"]
    return block("def softmax(z):", body)


def activate() -> Lines:
    return block(
        "def activate(name, z):",
        [
            'if name == "relu":',
            "    return np.maximum(z, 0)",
            'if name == "sigmoid":',
            "    return sigmoid(z)",
            'if name == "tanh":',
            "    return np.tanh(z)",
            'if name == "softmax":',
            "    return softmax(z)",
            "return z",
        ],
    )


def _relu_prime(style: Style) -> str:
    comparison = "z > 0" if style.relu_prime_at_zero == "relu_prime0" else "z >= 0"
    return f"return ({comparison}).astype(z.dtype)"


def _sigmoid_prime(style: Style, bugs: Bugs) -> Lines:
    wrong = bugs.hidden_fprime == "wrong" and bugs.wrong_fprime_of == "sigmoid"
    sign = "+" if wrong else "-"
    if style.derivative_from == "fprime_of_a" and bugs.hidden_fprime != "at_a":
        return [f"return a * (1 {sign} a)"]
    at = "a" if style.derivative_from == "fprime_of_a" else "z"
    return [f"s = sigmoid({at})", f"return s * (1 {sign} s)"]


def _tanh_prime(style: Style, bugs: Bugs) -> str:
    wrong = bugs.hidden_fprime == "wrong" and bugs.wrong_fprime_of == "tanh"
    if style.derivative_from == "fprime_of_a":
        if bugs.hidden_fprime == "at_a":
            return "return 1 - np.tanh(a) ** 2"
        return "return 1 - a" if wrong else "return 1 - a ** 2"
    return "return 1 - z ** 2" if wrong else "return 1 - np.tanh(z) ** 2"


def derivative(style: Style, bugs: Bugs) -> Lines:
    """f′ of one layer; with fprime_of_a it also takes the layer's output a = f(z)."""
    from_a = style.derivative_from == "fprime_of_a"
    doc = (
        '"""f′(z) of one layer, from its output a = f(z) where that is simpler."""'
        if from_a
        else '"""f′(z) of one layer."""'
    )
    return block(
        "def derivative(name, z, a):" if from_a else "def derivative(name, z):",
        [
            doc,
            'if name == "relu":',
            "    " + _relu_prime(style),
            'if name == "sigmoid":',
            *["    " + line for line in _sigmoid_prime(style, bugs)],
            'if name == "tanh":',
            "    " + _tanh_prime(style, bugs),
            "return np.ones_like(z)",
        ],
    )


def layer_class() -> Lines:
    """The cache entry of the objects style."""
    return [
        "@dataclass",
        "class Layer:",
        '    """What forward keeps of one layer for backward."""',
        "",
        "    A_prev: np.ndarray",
        "    Z: np.ndarray",
        "    A: np.ndarray",
    ]
