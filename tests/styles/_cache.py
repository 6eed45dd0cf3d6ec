"""The cache axis: what forward stores per layer, and how backward reads it back.

Each container is a small class with the same methods: the code forward runs
before its loop and after computing a layer (``A_prev``, ``W``, ``Z`` and
``A`` are local names there, and ``b`` in a network with biases), what it
returns, and the expressions backward reads Z, A_prev, ŷ and X with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from tests.styles._code import Layer, Lines


class Container(ABC):
    """How one cache style stores and reads a layer's values."""

    #: The name backward gives its cache parameter.
    parameter = "cache"
    #: Whether forward's loop needs ``A_prev = A`` before it overwrites A.
    keeps_A_prev = False
    #: Whether ŷ is in the cache (else :meth:`AL` recomputes it from z⁽ᴸ⁾).
    caches_AL = True

    @abstractmethod
    def start(self) -> Lines:
        """Forward's lines before its loop (A holds the input)."""

    @abstractmethod
    def store(self, layer: Layer, parameters: str) -> Lines:
        """Forward's lines after computing ``layer``'s Z and A (``parameters``
        names the layer's parameter locals: "W, b", or "W" without biases)."""

    @abstractmethod
    def result(self) -> str:
        """The cache forward returns."""

    def unpack(self) -> Lines:
        """Lines backward starts with to get at the cache (none by default)."""
        return []

    @abstractmethod
    def Z(self, layer: Layer, below: bool = False) -> str:
        """z of ``layer`` (or of the layer below it)."""

    @abstractmethod
    def A_prev(self, layer: Layer) -> str:
        """The input of ``layer``, which is the output of the layer below."""

    @abstractmethod
    def ZL(self) -> str:
        """z of the output layer."""

    @abstractmethod
    def AL(self, ZL: str) -> str:
        """ŷ (``ZL`` is the local name already holding z⁽ᴸ⁾)."""

    @abstractmethod
    def X(self) -> str:
        """The input batch as forward saw it."""


class DictCache(Container):
    def start(self) -> Lines:
        return ['cache = {"A0": A}']

    def store(self, layer: Layer, parameters: str) -> Lines:
        return [f"cache[{layer.key('Z')}] = Z", f"cache[{layer.key('A')}] = A"]

    def result(self) -> str:
        return "cache"

    def Z(self, layer: Layer, below: bool = False) -> str:
        return f"cache[{layer.key('Z', below)}]"

    def A_prev(self, layer: Layer) -> str:
        return f"cache[{layer.key('A', below=True)}]"

    def ZL(self) -> str:
        return 'cache[f"Z{L}"]'

    def AL(self, ZL: str) -> str:
        return 'cache[f"A{L}"]'

    def X(self) -> str:
        return 'cache["A0"]'


class TupleCache(Container):
    def start(self) -> Lines:
        return ["Zs, As = [], [A]"]

    def store(self, layer: Layer, parameters: str) -> Lines:
        return ["Zs.append(Z)", "As.append(A)"]

    def result(self) -> str:
        return "(Zs, As)"

    def unpack(self) -> Lines:
        return ["Zs, As = cache"]

    def Z(self, layer: Layer, below: bool = False) -> str:
        return f"Zs[{layer.position_below if below else layer.position}]"

    def A_prev(self, layer: Layer) -> str:
        return f"As[{layer.position}]"

    def ZL(self) -> str:
        return "Zs[-1]"

    def AL(self, ZL: str) -> str:
        return "As[-1]"

    def X(self) -> str:
        return "As[0]"


class LayerList(Container):
    """deeplearning.ai's caches: one ((A_prev, W, b), Z) per layer (((A_prev, W), Z)
    without biases); ŷ is recomputed."""

    parameter = "caches"
    keeps_A_prev = True
    caches_AL = False

    def start(self) -> Lines:
        return ["caches = []"]

    def store(self, layer: Layer, parameters: str) -> Lines:
        return [f"caches.append(((A_prev, {parameters}), Z))"]

    def result(self) -> str:
        return "caches"

    def Z(self, layer: Layer, below: bool = False) -> str:
        return f"caches[{layer.position_below if below else layer.position}][1]"

    def A_prev(self, layer: Layer) -> str:
        return f"caches[{layer.position}][0][0]"

    def ZL(self) -> str:
        return "caches[-1][1]"

    def AL(self, ZL: str) -> str:
        return f"activate(activations[-1], {ZL})"

    def X(self) -> str:
        return "caches[0][0][0]"


class Objects(Container):
    """A list of Layer objects (see :func:`tests.styles._activations.layer_class`)."""

    parameter = "layers"
    keeps_A_prev = True

    def start(self) -> Lines:
        return ["layers = []"]

    def store(self, layer: Layer, parameters: str) -> Lines:
        return ["layers.append(Layer(A_prev, Z, A))"]

    def result(self) -> str:
        return "layers"

    def Z(self, layer: Layer, below: bool = False) -> str:
        return f"layers[{layer.position_below if below else layer.position}].Z"

    def A_prev(self, layer: Layer) -> str:
        return f"layers[{layer.position}].A_prev"

    def ZL(self) -> str:
        return "layers[-1].Z"

    def AL(self, ZL: str) -> str:
        return "layers[-1].A"

    def X(self) -> str:
        return "layers[0].A_prev"


CONTAINERS: dict[str, Container] = {
    "dict_cache": DictCache(),
    "tuple_cache": TupleCache(),
    "layer_list": LayerList(),
    "objects": Objects(),
}
