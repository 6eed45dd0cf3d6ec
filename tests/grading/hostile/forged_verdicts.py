"""Changes X and params in place, returns lists, and patches the worker's copy of the
harness so that it reports neither (the attack of issue 10 that raised a score from 25
to 105). The grader reads the shared inputs back itself: no_mutation still fails."""
import sys

import numpy as np


def forward(params, X, activations):
    X *= 1.0  # the same values: not a mutation
    X[0, 0] += 1.0  # a real one, in the caller's array
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    params["W1"] += 0.5
    return A, X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value).tolist() for name, value in params.items()}


for _name, _module in list(sys.modules.items()):
    if _name.endswith(".execute") and hasattr(_module, "_HANDLERS"):
        _module._container_changes = lambda name, before, after: []
        _module.mutated_parts = lambda name, before, after: []
        _original = dict(_module._HANDLERS)
        for _kind, _handler in _original.items():

            def _forged(functions, call, shared, _handler=_handler):
                reply = _handler(functions, call, shared)
                reply.mutated = ()
                reply.returned_types = {}
                reply.gradients = [
                    {key: np.asarray(value, dtype=float) for key, value in grads.items()}
                    for grads in reply.gradients
                ]
                return reply

            _module._HANDLERS[_kind] = _forged
