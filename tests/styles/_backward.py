"""backward (and, for the recursive traversal, its helper ``_backprop``).

One :class:`_Backward` per rendering holds the style and the bugs; each method
writes one part: the output δ, the gradient store, one layer's gradients and
the δ it sends down, then the vectorised, per-example or recursive shape
around them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.styles._activations import units_axis
from tests.styles._bugs import Bugs
from tests.styles._cache import CONTAINERS
from tests.styles._code import (
    OUTPUT,
    Layer,
    Lines,
    block,
    current_layer,
    float32,
    matrix_vector,
    outer,
    product,
)
from tests.styles._functions import casts_backward, casts_forward, layer_parameters
from tests.styles._style import Style

#: The η of the update applied inside backward (update_before_propagation).
LEARNING_RATE = 0.1
#: The bounds a clipping textbook derivative keeps ŷ within.
CLIP = "1e-12"


@dataclass(frozen=True)
class _Names:
    """Local names: the whole batch, or one example (per-example traversal)."""

    Y: str
    AL: str
    ZL: str
    dAL: str
    delta: str
    A_prev: str


_BATCH = _Names("Y", "AL", "ZL", "dAL", "delta", "A_prev")
_EXAMPLE = _Names("y", "yhat", "z_out", "dyhat", "d", "a_prev")


def _paren(expression: str) -> str:
    """``expression`` ready to be an operand of * or /: bracketed if it is an infix one."""
    infix = any(operator in expression for operator in (" - ", " + ", " @ "))
    return f"({expression})" if infix and not expression.startswith("np.") else expression


class _Backward:
    def __init__(self, style: Style, bugs: Bugs) -> None:
        self.style, self.bugs = style, bugs
        self.cache = CONTAINERS[style.cache]
        self.layer = current_layer(style.indexing)
        self.per_example = style.traversal == "per_example"
        self.names = _EXAMPLE if self.per_example else _BATCH
        in_delta = style.batch_mean == "mean_in_delta"
        self.mean_in_delta = bugs.batch_mean == "twice" or (bugs.batch_mean == "once" and in_delta)
        self.mean_in_gradients = bugs.batch_mean == "twice" or (
            bugs.batch_mean == "once" and not in_delta
        )
        self.cast_params = casts_backward(style)
        self.cast_cache = casts_backward(style) and not casts_forward(style)
        self.buffer = style.storage == "buffer_views"

    # ------------------------------------------------------------ reading

    def _cached(self, expression: str, sliced: bool = True) -> str:
        if sliced and self.per_example:
            expression += "[:, m]" if self.style.layout == "columns" else "[m]"
        return float32(expression) if self.cast_cache else expression

    def _param(self, layer: Layer, below: bool = False) -> str:
        expression = f"params[{layer.key('W', below)}]"
        return float32(expression) if self.cast_params else expression

    def _prime(self, layer: Layer, activation: str) -> str:
        """f′ of the layer below ``layer`` (``activation`` names it)."""
        Z = self._cached(self.cache.Z(layer, below=True))
        if self.bugs.hidden_fprime == "at_a" and self.style.derivative_from == "fprime_of_z":
            return f"derivative({activation}, {self.names.A_prev})"
        if self.style.derivative_from == "fprime_of_a":
            return f"derivative({activation}, {Z}, {self.names.A_prev})"
        return f"derivative({activation}, {Z})"

    # ------------------------------------------------------------ the top

    def header(self) -> Lines:
        Y = "Y" if self.style.layout == "columns" else "Y.T"
        if self.cast_params:
            Y = float32(Y)
        AL = self.cache.AL("ZL")
        return [
            "L = len(activations)",
            *self.cache.unpack(),
            *([f"Y = {Y}"] if Y != "Y" else []),
            f"M = Y.shape[{1 if self.style.layout == 'columns' else 0}]",
            f"ZL = {self._cached(self.cache.ZL(), sliced=False)}",
            f"AL = {self._cached(AL, sliced=False) if self.cache.caches_AL else AL}",
        ]

    def output_delta(self) -> Lines:
        """δ⁽ᴸ⁾ (and ∂L/∂ŷ where there is one), as ``names.delta``."""
        n, bugs = self.names, self.bugs
        mean = " / M" if self.mean_in_delta else ""
        lines: Lines = []
        error = f"{n.Y} - {n.AL}" if bugs.flipped_sign else f"{n.AL} - {n.Y}"
        if bugs.overwrite_Y:
            lines.append(f"np.subtract({n.AL}, {n.Y}, out={n.Y})")
            error = n.Y
        two = "2 * " if bugs.mse_two else ""
        mse = f"{n.dAL} = {two}{_paren(error)}{mean}"
        at_output = self._output_prime()
        if self.style.output_delta == "fused_delta":
            return lines + self._fused(mse, error, mean, at_output)
        return lines + self._textbook(mse, mean, at_output)

    def _output_prime(self) -> str:
        n = self.names
        if self.style.derivative_from == "fprime_of_a":
            return f"derivative(activations[-1], {n.ZL}, {n.AL})"
        return f"derivative(activations[-1], {n.ZL})"

    def _fused(self, mse: str, error: str, mean: str, at_output: str) -> Lines:
        n, bugs = self.names, self.bugs
        twice = f" * {n.AL} * (1 - {n.AL})" if bugs.output_fprime_twice else ""
        clean = f"{_paren(error)}{mean}{twice}" if mean or twice else error
        target = f"{n.delta} = {n.dAL}" if not bugs.output_fprime_in_recurrence else n.delta
        lines = [
            'if loss == "mse":',
            f"    {mse}",
            f"    {n.delta} = {n.dAL} * {at_output}",
        ]
        if bugs.softmax_diagonal:
            sign = "" if bugs.flipped_sign else "-"
            return lines + [
                'elif loss == "bce":',
                f"    {target} = {clean}",
                "else:",
                f"    {target} = {sign}{n.Y} / {n.AL}{mean} * {n.AL} * (1 - {n.AL})",
            ]
        return lines + [
            "else:  # sigmoid with bce, softmax with cce: the output f′ cancels",
            f"    {target} = {clean}",
        ]

    def _textbook(self, mse: str, mean: str, at_output: str) -> Lines:
        n, bugs = self.names, self.bugs
        minus = "" if bugs.flipped_sign else "-"
        lines: Lines = []
        if self.style.output_delta == "clipped_textbook_delta":
            lines.append(f"clipped = np.clip({n.AL}, {CLIP}, 1 - {CLIP})")
            bce = f"{minus}({n.Y} / clipped - (1 - {n.Y}) / (1 - clipped)){mean}"
            cce = f"{minus}{n.Y} / clipped{mean}"
        else:
            error = f"{n.Y} - {n.AL}" if bugs.flipped_sign else f"{n.AL} - {n.Y}"
            bce = f"({error}) / ({n.AL} * (1 - {n.AL})){mean}"
            cce = f"{minus}{n.Y} / {n.AL}{mean}"
        if bugs.softmax_diagonal:
            jacobian = [f"{n.delta} = {n.dAL} * {n.AL} * (1 - {n.AL})"]
        elif self.per_example:
            matmul = self.style.matmul
            jacobian = [
                f"J = np.diag({n.AL}) - {outer(matmul, n.AL, n.AL)}",
                f"{n.delta} = {matrix_vector(matmul, 'J', n.dAL, transpose=False)}",
            ]
        else:
            axis = f"axis={units_axis(self.style)}, keepdims=True"
            jacobian = [f"{n.delta} = {n.AL} * ({n.dAL} - np.sum({n.AL} * {n.dAL}, {axis}))"]
        return lines + [
            'if loss == "mse":',
            f"    {mse}",
            'elif loss == "bce":',
            f"    {n.dAL} = {bce}",
            "else:",
            f"    {n.dAL} = {cce}",
            'if loss == "cce":  # the softmax Jacobian diag(ŷ) − ŷŷᵀ',
            *["    " + line for line in jacobian],
            "else:",
            f"    {n.delta} = {n.dAL} * {at_output}",
        ]

    # ------------------------------------------------------------ the gradient store

    def _zeros(self, shape: str) -> str:
        if self.bugs.buffer_dtype is not None:
            return f"np.zeros({shape}, dtype={self.bugs.buffer_dtype})"
        return f"np.zeros({shape}, dtype=np.float32)" if self.cast_params else f"np.zeros({shape})"

    def store(self) -> Lines:
        """The gradient dict, empty or of zeros, and its buffer when there is one."""
        if self.buffer:
            return self._buffer() + (self._extras_store() if self.per_example else [])
        if not self.per_example:
            return ["grads = {}"]
        layer = self.layer
        shapes = []
        for parameter in layer_parameters(self.style):
            shape = f"params[{layer.key(parameter)}].shape"
            if parameter == "b" and self.bugs.db_form == "flat":
                shape = f"len(params[{layer.key(parameter)}])"
            shapes.append((layer.key("d" + parameter), shape))
        if self.bugs.persistent_sums:
            pairs = ", ".join(f"({key}, {shape})" for key, shape in shapes)
            one = "," if len(shapes) == 1 else ""  # without biases: a tuple of one pair
            zeros = block(
                f"for key, shape in ({pairs}{one}):",
                [f"grads[key] = _SUMS.setdefault((key, shape), {self._zeros('shape')})"],
            )
        else:
            zeros = [f"grads[{key}] = {self._zeros(shape)}" for key, shape in shapes]
        return ["grads = {}", *block(self._layers_upward(), zeros + self._extra_zeros())]

    def _buffer(self) -> Lines:
        size = "sum(value.size for value in params.values())"
        if self.bugs.persistent_sums:
            allocate = [f"size = {size}", f"buffer = _BUFFERS.setdefault(size, {self._zeros('size')})"]
        else:
            allocate = [f"buffer = {self._zeros(size)}"]
        return allocate + [
            "grads, start = {}, 0",
            *block(
                "for name, value in params.items():",
                [
                    'grads["d" + name] = buffer[start:start + value.size].reshape(value.shape)',
                    "start += value.size",
                ],
            ),
        ]

    def _layers_upward(self) -> str:
        return (
            "for l in range(1, L + 1):"
            if self.style.indexing == "numbered_layers"
            else "for i in range(L):"
        )

    def _extra_zeros(self) -> Lines:
        layer, extra = self.layer, self.style.extra_keys
        if extra == "extra_dZ":
            return [f"grads[{layer.key('dZ')}] = np.zeros({self.cache.Z(layer)}.shape)"]
        if extra == "extra_dA":
            return [
                f"grads[{layer.key('dA', below=True)}] = np.zeros({self.cache.A_prev(layer)}.shape)"
            ]
        return []

    def _extras_store(self) -> Lines:
        extra = self._extra_zeros()
        return block(self._layers_upward(), extra) if extra else []

    def _write(self, key: str, value: str, accumulate: bool) -> str:
        if accumulate:
            return f"grads[{key}] += {value}"
        return f"grads[{key}][...] = {value}" if self.buffer else f"grads[{key}] = {value}"

    def _extra_write(self, key: str, value: str) -> str:
        if not self.per_example:
            return f"grads[{key}] = {value}"
        where = "[:, m]" if self.style.layout == "columns" else "[m]"
        return f"grads[{key}]{where} = {value}"

    # ------------------------------------------------------------ one layer

    def _weight_gradient(self) -> str:
        n, matmul, transposed = self.names, self.style.matmul, self.bugs.transposed_dW
        if self.per_example:
            return outer(matmul, n.A_prev, n.delta) if transposed else outer(matmul, n.delta, n.A_prev)
        if self.style.layout == "columns":
            pair = (n.A_prev, n.delta) if transposed else (n.delta, n.A_prev)
            value = product(matmul, *pair, y_t=True)
        else:
            pair = (n.A_prev, n.delta) if transposed else (n.delta, n.A_prev)
            value = product(matmul, *pair, x_t=True)
        return f"{value} / M" if self.mean_in_gradients else value

    def _bias_gradient(self) -> str:
        d, form = self.names.delta, self.bugs.db_form
        if self.per_example:
            return d if form == "flat" else f"{d}[:, None]"
        columns = self.style.layout == "columns"
        if form == "kept":
            value = d if columns else f"{d}.T"
        elif form == "units":
            value = (
                f"np.sum({d}, axis=0, keepdims=True)"
                if columns
                else f"np.sum({d}, axis=1).reshape(-1, 1)"
            )
        elif form == "flat":
            value = f"np.sum({d}, axis={1 if columns else 0})"
        else:
            value = (
                f"np.sum({d}, axis=1, keepdims=True)"
                if columns
                else f"np.sum({d}, axis=0).reshape(-1, 1)"
            )
        return f"{value} / M" if self.mean_in_gradients else value

    def _propagate(self, upstream: str) -> str:
        """Wᵀ δ (with the recurrence's W bug, if any)."""
        matmul, untransposed = self.style.matmul, self.bugs.recurrence_W == "untransposed"
        if self.per_example:
            return matrix_vector(matmul, "W", upstream, transpose=not untransposed)
        if self.style.layout == "columns":
            return product(matmul, "W", upstream, x_t=not untransposed)
        return product(matmul, upstream, "W", y_t=untransposed)

    def layer_body(self, layer: Layer, descend: Lines) -> Lines:
        """One layer's dW and db (dW alone without biases) from its δ, then the
        δ of the layer below (followed by ``descend``, the recursive call, when
        there is one)."""
        n, bugs, style = self.names, self.bugs, self.style
        accumulate = self.per_example
        lines = [
            f"{n.A_prev} = {self._cached(self.cache.A_prev(layer))}",
            self._write(layer.key("dW"), self._weight_gradient(), accumulate),
        ]
        if style.has_biases:
            summed = accumulate and bugs.db_form != "kept"
            lines.append(self._write(layer.key("db"), self._bias_gradient(), summed))
        if style.extra_keys == "extra_dZ":
            lines.append(self._extra_write(layer.key("dZ"), n.delta))
        upstream = n.dAL if layer is OUTPUT and not bugs.output_fprime_in_recurrence else n.delta
        early_W = style.extra_keys == "extra_dA" or bugs.recurrence_W == "updated"
        read_W = f"W = {self._param(layer, below=bugs.recurrence_W == 'same_layer')}"
        if early_W:
            lines.append(read_W)
        if bugs.recurrence_W == "updated":
            lines.append(f"W -= LEARNING_RATE * grads[{layer.key('dW')}]")
        back = self._propagate(upstream)
        if style.extra_keys == "extra_dA":
            lines += [f"dA_prev = {back}", self._extra_write(layer.key("dA", below=True), "dA_prev")]
            back = "dA_prev"
        below = [] if early_W else [read_W]
        activation = f"activations[{layer.position_below}]"
        if not bugs.propagated:
            Z = self._cached(self.cache.Z(layer, below=True))
            below.append(f"{n.delta} = np.zeros_like({Z})")
        elif bugs.hidden_fprime == "none":
            below.append(f"{n.delta} = {back}")
        else:
            below.append(f"{n.delta} = {_paren(back)} * {self._prime(layer, activation)}")
        return lines + block(f"if {layer.descends(bugs.lowest_layer)}:", below + descend)

    # ------------------------------------------------------------ the shapes

    def _loop(self, peeled: bool) -> str:
        top = "L - 1" if peeled else "L"
        lowest = self.bugs.lowest_layer
        if self.style.indexing == "numbered_layers":
            return f"for l in range({top}, {lowest - 1}, -1):"
        low = f"{lowest - 1}, " if lowest > 1 else ""
        return f"for i in reversed(range({low}{top})):"

    def _finish(self) -> Lines:
        lines: Lines = []
        if self.per_example and self.mean_in_gradients:
            lines += (
                ["buffer /= M"]
                if self.buffer
                else block("for key in grads:", ["grads[key] /= M"])
            )
        if self.bugs.scaled is not None:
            key, factor = self.bugs.scaled
            lines.append(f'grads["{key}"] = {factor:g} * grads["{key}"]')
        return lines + ["return grads"]

    def _signature(self, name: str, first: str) -> str:
        return f"def {name}({first}, {self.cache.parameter}, Y, activations, loss):"

    def vectorised(self) -> Lines:
        peeled = self.style.output_layer == "output_peeled"
        body = self.header() + self.output_delta() + self.store()
        if peeled:
            body += self.layer_body(OUTPUT, [])
        body += block(self._loop(peeled), self.layer_body(self.layer, []))
        return block(self._signature("backward", "params"), body + self._finish())

    def per_example_loop(self) -> Lines:
        n, peeled = self.names, self.style.output_layer == "output_peeled"
        where = "[:, m]" if self.style.layout == "columns" else "[m]"
        example = [f"{n.Y}, {n.AL}, {n.ZL} = Y{where}, AL{where}, ZL{where}", *self.output_delta()]
        if peeled:
            example += self.layer_body(OUTPUT, [])
        example += block(self._loop(peeled), self.layer_body(self.layer, []))
        body = self.header() + self.store() + block("for m in range(M):", example)
        return block(self._signature("backward", "params"), body + self._finish())

    def recursive(self) -> Lines:
        peeled = self.style.output_layer == "output_peeled"
        numbered = self.style.indexing == "numbered_layers"
        arguments = f"delta, params, {self.cache.parameter}, activations, grads"
        body = self.header() + self.output_delta() + self.store()
        if peeled:
            start = "L - 1" if numbered else "L - 2"
            body += self.layer_body(OUTPUT, [f"_backprop({start}, {arguments})"])
        else:
            body.append(f"_backprop({'L' if numbered else 'L - 1'}, {arguments})")
        backward = block(self._signature("backward", "params"), body + self._finish())
        var = self.layer.var
        helper_body = [
            '"""This layer\'s gradients from its δ, then those of the layers below."""',
            *self.cache.unpack(),
            *(
                [f"M = delta.shape[{1 if self.style.layout == 'columns' else 0}]"]
                if self.mean_in_gradients
                else []
            ),
            *self.layer_body(self.layer, [f"_backprop({var} - 1, {arguments})"]),
        ]
        helper = block(
            f"def _backprop({var}, delta, params, {self.cache.parameter}, activations, grads):",
            helper_body,
        )
        return backward + ["", ""] + helper


def backward(style: Style, bugs: Bugs) -> Lines:
    """The backward function (and its helpers) of ``style`` with ``bugs``."""
    writer = _Backward(style, bugs)
    if style.traversal == "vectorised":
        return writer.vectorised()
    if style.traversal == "per_example":
        return writer.per_example_loop()
    return writer.recursive()
