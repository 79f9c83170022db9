"""BUG: a float32 layer whose results come back float64: the Jacobian's identity matrix
and the loss's normaliser are float64, and numpy promotes. Its values are right; what a
float32 pipeline receives is not float32. A float64 run cannot see it; a default run also
runs in float32.

smgrad check --impl examples/buggy/float64_result.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(x):
    y = softmax(x)
    return y[..., :, None] * (np.eye(x.shape[-1]) - y[..., None, :])


def cross_entropy(x, target):
    z = x - x.max(axis=-1, keepdims=True)
    log_y = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.sum(target * log_y) / np.float64(x.shape[0])
