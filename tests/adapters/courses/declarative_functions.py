"""A homework in plain functions: W with its bias as an augmented last column,
a tanh hidden layer, and a summed ½ squared error (graded declaratively)."""

import numpy as np

ADAPTER = "declarative"
MISTAKE = None
TABLE = {
    "forward": "predict",
    "forward_args": ["X", "params"],
    "forward_returns": ["AL", "cache"],
    "backward": "gradients",
    "backward_args": ["cache", "Y", "params"],
    "backward_returns": ["loss", "grads"],
    "weight_key": "W{index}",
    "gradient_weight_key": "dW{index}",
    "bias": "augmented",
    "reduction": "sum",
    "scale": 0.5,
}
SCOPE = {"output_activations": ["linear"]}
ACTIVATIONS, LOSSES = "tanh", "mse"


def _with_ones(A):
    return np.vstack([A, np.ones((1, A.shape[1]))])


def predict(X, params):
    activations = [X]
    count = len(params)
    for i in range(count):
        Z = params["W%d" % i] @ _with_ones(activations[-1])
        activations.append(np.tanh(Z) if i < count - 1 else Z)
    return activations[-1], activations


def gradients(activations, Y, params):
    count = len(params)
    delta = activations[-1] - Y  # of ½ Σ (ŷ − y)², summed over the batch
    grads = {}
    for i in reversed(range(count)):
        grads["dW%d" % i] = delta @ _with_ones(activations[i]).T
        if i:
            delta = (params["W%d" % i][:, :-1].T @ delta) * (1 - activations[i] ** 2)
    return 0.5 * np.sum((activations[-1] - Y) ** 2), grads
