"""Small pieces of generated code: how a layer is addressed, and products
spelled with @, np.dot or np.einsum."""

from __future__ import annotations

from dataclasses import dataclass

Lines = list[str]


def indent(lines: Lines, levels: int = 1) -> Lines:
    """``lines`` indented by ``levels`` × 4 spaces (blank lines stay blank)."""
    return [("    " * levels + line) if line else "" for line in lines]


def block(header: str, body: Lines) -> Lines:
    """``header:`` followed by ``body`` indented one level."""
    return [header, *indent(body)]


@dataclass(frozen=True)
class Layer:
    """How generated code names one layer: ``var`` is the loop variable (or L),
    ``first`` its value at layer 1, ``number`` the layer's number in the keys
    (f"W{number}"), ``position`` its index in lists such as ``activations``,
    and ``below`` and ``position_below`` the same for the layer under it."""

    var: str
    first: int
    number: str
    position: str
    below: str
    position_below: str

    def key(self, prefix: str, below: bool = False) -> str:
        """The f-string key of this layer's (or the one below's) ``prefix``: f"dW{l}"."""
        return f'f"{prefix}{{{self.below if below else self.number}}}"'

    def descends(self, lowest: int) -> str:
        """The condition that the layer below still gets gradients (the lowest to get any is ``lowest``)."""
        return f"{self.var} > {self.first + lowest - 1}"


#: The current layer in a loop over numbers l, or over list positions i.
NUMBERED = Layer("l", 1, "l", "l - 1", "l - 1", "l - 2")
LISTED = Layer("i", 0, "i + 1", "i", "i", "i - 1")
#: The output layer, written out before the loop.
OUTPUT = Layer("L", 1, "L", "L - 1", "L - 1", "L - 2")


def current_layer(indexing: str) -> Layer:
    return NUMBERED if indexing == "numbered_layers" else LISTED


def product(matmul: str, x: str, y: str, *, x_t: bool = False, y_t: bool = False) -> str:
    """The matrix product x·y (either operand transposed) in ``matmul``'s spelling."""
    if matmul == "einsum":
        left, right = ("ki" if x_t else "ik"), ("jk" if y_t else "kj")
        return f'np.einsum("{left},{right}->ij", {x}, {y})'
    left, right = (f"{x}.T" if x_t else x), (f"{y}.T" if y_t else y)
    if matmul == "operator":
        return f"{left} @ {right}"
    return f"np.dot({left}, {right})"


def matrix_vector(matmul: str, W: str, v: str, *, transpose: bool) -> str:
    """Wᵀv (or Wv) for a 1-D v."""
    if matmul == "einsum":
        return f'np.einsum("{"ji" if transpose else "ij"},j->i", {W}, {v})'
    left = f"{W}.T" if transpose else W
    return f"{left} @ {v}" if matmul == "operator" else f"np.dot({left}, {v})"


def outer(matmul: str, u: str, v: str) -> str:
    """The outer product u vᵀ of two 1-D arrays."""
    if matmul == "einsum":
        return f'np.einsum("i,j->ij", {u}, {v})'
    if matmul == "operator":
        return f"{u}[:, None] @ {v}[None, :]"
    return f"np.outer({u}, {v})"


def float32(expression: str) -> str:
    return f"{expression}.astype(np.float32)"
