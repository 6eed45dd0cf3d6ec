"""A tutorial's bias-free network as plain functions on a list of weight
matrices (W of shape (out, in), X of shape (features, batch)): sigmoid layers,
the summed ½‖a − y‖² loss, and a training step that updates the weights in
place (graded through the declarative adapter, bias = "absent", step)."""

import numpy as np

ADAPTER = "declarative"
MISTAKE = None
TABLE = {
    "parameters": "lists",
    "forward": "feed_forward",
    "forward_args": ["params", "X"],
    "forward_returns": ["AL"],
    "step": "train",
    "step_args": ["params", "X", "Y", "learning_rate"],
    "bias": "absent",
    "reduction": "sum",
    "scale": 0.5,
}
SCOPE = {"output_activations": ["sigmoid"]}
ACTIVATIONS, LOSSES = "sigmoid", "mse"


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def feed_forward(weights, X):
    for W in weights:
        X = sigmoid(W @ X)
    return X


def train(weights, X, Y, eta):
    outputs = [X]
    for W in weights:
        outputs.append(sigmoid(W @ outputs[-1]))
    error = outputs[-1] - Y  # d(½‖a − y‖²)/da, summed over the batch
    gradients = []
    for i in range(len(weights) - 1, -1, -1):
        a = outputs[i + 1]
        delta = error * a * (1 - a)
        gradients.insert(0, delta @ outputs[i].T)
        error = weights[i].T @ delta
    for W, dW in zip(weights, gradients):
        W -= eta * dW
