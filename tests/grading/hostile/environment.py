"""Reports what it can see of its environment: AL = [[grader's secret seen, number of
environment variables, working directory inside the grader's checkout]]."""
import os

import numpy as np


def forward(params, X, activations):
    secret = float("BPCHECK_TEST_SECRET" in os.environ)
    inside = float(os.getcwd().startswith(os.environ.get("BPCHECK_TEST_CHECKOUT", "/work/main")))
    return np.array([[secret, float(len(os.environ)), inside]]), X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}
