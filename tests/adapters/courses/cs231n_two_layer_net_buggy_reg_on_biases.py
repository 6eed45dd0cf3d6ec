"""CS231n assignment 1's neural_net.py TwoLayerNet with a classic mistake: the loss
penalises the weights only, the gradients the biases too."""

import numpy as np

ADAPTER = "cs231n"
MISTAKE = "regularisation_gradient_unmatched"
CHECK = "regularisation"


class TwoLayerNet(object):
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {"W1": std * np.random.randn(input_size, hidden_size), "b1": np.zeros(hidden_size)}
        self.params.update(W2=std * np.random.randn(hidden_size, output_size), b2=np.zeros(output_size))

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        relu = np.maximum(0, np.dot(X, W1) + b1)
        scores = np.dot(relu, W2) + b2
        if y is None:
            return scores
        num_train = X.shape[0]
        scores = scores - np.max(scores, axis=1, keepdims=True)
        softmax = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
        loss = np.sum(-np.log(softmax[range(num_train), y])) / num_train
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = softmax
        dscores[range(num_train), y] -= 1
        dscores /= num_train
        grads = {}
        grads["W2"] = np.dot(relu.T, dscores) + 2 * reg * W2
        grads["b2"] = np.sum(dscores, axis=0) + 2 * reg * b2
        drelu = np.dot(dscores, W2.T) * (relu > 0)
        grads["W1"] = np.dot(X.T, drelu) + 2 * reg * W1
        grads["b1"] = np.sum(drelu, axis=0) + 2 * reg * b1
        return loss, grads
