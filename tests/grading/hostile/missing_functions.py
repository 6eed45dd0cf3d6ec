"""Has forward() only."""
import numpy as np


def forward(params, X, activations):
    return X, None
