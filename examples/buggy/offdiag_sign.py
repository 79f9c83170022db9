"""BUG: the off-diagonal of the Jacobian written as +y_i*y_j.

smgrad check --impl examples/buggy/offdiag_sign.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(x):
    y = softmax(x)
    n = x.shape[-1]
    outer = y[..., :, None] * y[..., None, :]
    return np.eye(n) * (y * (1 - y))[..., None, :] + (1 - np.eye(n)) * outer
