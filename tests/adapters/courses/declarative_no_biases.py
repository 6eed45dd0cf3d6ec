"""A homework MLP class without biases (z = x W): batch-first, W of shape
(in, out), the weights as a list, ReLU hidden layers and a softmax output
with cross-entropy on one-hot labels; backward returns the weight gradients
alone (graded through the declarative adapter, bias = "absent")."""

import numpy as np

ADAPTER = "declarative"
MISTAKE = None
TABLE = {
    "model": "Net",
    "parameters": "lists",
    "weights_attribute": "weights",
    "forward": "predict",
    "forward_args": ["X"],
    "forward_returns": ["AL"],
    "backward": "gradients",
    "backward_args": ["X", "Y"],
    "backward_returns": ["weight_gradients"],
    "layout": "batch_by_features",
    "weights": "in_out",
    "bias": "absent",
}
SCOPE = {"output_activations": ["softmax"]}
ACTIVATIONS, LOSSES = "relu", "cce"


class Net:
    def __init__(self, sizes):
        rng = np.random.default_rng(1)
        self.weights = [rng.normal(0, 1 / np.sqrt(m), (m, n)) for m, n in zip(sizes[:-1], sizes[1:])]

    def predict(self, X):
        self.activations = [X]
        for i, W in enumerate(self.weights):
            Z = self.activations[-1] @ W
            if i < len(self.weights) - 1:
                self.activations.append(np.maximum(Z, 0))
            else:
                e = np.exp(Z - Z.max(axis=1, keepdims=True))
                self.activations.append(e / e.sum(axis=1, keepdims=True))
        return self.activations[-1]

    def gradients(self, X, Y):
        delta = (self.activations[-1] - Y) / len(X)
        grads = [None] * len(self.weights)
        for i in reversed(range(len(self.weights))):
            grads[i] = self.activations[i].T @ delta
            if i:
                delta = (delta @ self.weights[i].T) * (self.activations[i] > 0)
        return grads
