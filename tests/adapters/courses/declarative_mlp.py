"""A tutorial-style MLP class: batch-first, W of shape (in, out), flat biases,
class-index labels, a summed loss, logits out of forward, and a train_step that
updates the weights in place (graded through the declarative adapter)."""

import numpy as np

ADAPTER = "declarative"
MISTAKE = None
TABLE = {
    "model": "MLP",
    "forward": "forward",
    "parameters": "lists",
    "weights_attribute": "W",
    "biases_attribute": "b",
    "forward_args": ["X"],
    "forward_returns": ["logits"],
    "step": "train_step",
    "layout": "batch_by_features",
    "weights": "in_out",
    "bias": "flat",
    "labels": "indices",
    "reduction": "sum",
}
SCOPE = {"depth": [1, 3]}
ACTIVATIONS, LOSSES = "relu", "cce"


class MLP:
    def __init__(self, sizes):
        rng = np.random.default_rng(0)
        self.W = [rng.normal(0, 0.1, (m, n)) for m, n in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(n) for n in sizes[1:]]

    def forward(self, X):
        self.inputs, self.pre = [], []
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            self.inputs.append(X)
            Z = X @ W + b
            self.pre.append(Z)
            X = np.maximum(Z, 0) if i < len(self.W) - 1 else Z
        return X

    def gradients(self, logits, y):
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta = p
        delta[np.arange(len(y)), y] -= 1  # the summed loss: no 1/N
        dW, db = [None] * len(self.W), [None] * len(self.W)
        for i in reversed(range(len(self.W))):
            dW[i] = self.inputs[i].T @ delta
            db[i] = delta.sum(axis=0)
            if i:
                delta = (delta @ self.W[i].T) * (self.pre[i - 1] > 0)
        return dW, db

    def train_step(self, X, y, lr):
        dW, db = self.gradients(self.forward(X), y)
        for i in range(len(self.W)):
            self.W[i] -= lr * dW[i]
            self.b[i] -= lr * db[i]
