"""BUG: the element-wise derivative y(1-y), as if softmax acted on each entry alone.
Only the diagonal of the Jacobian is right; the off-diagonal -y_i*y_j is missing.

    smgrad check --impl examples/buggy/diagonal_only.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(x):
    y = softmax(x)
    return np.eye(x.shape[-1]) * (y * (1 - y))[..., None, :]


def softmax_backward(x, grad_y):
    y = softmax(x)
    return grad_y * y * (1 - y)
