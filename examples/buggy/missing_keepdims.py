"""BUG: the backward's sum over classes lacks keepdims=True. On a batch of B != n rows
numpy refuses to broadcast (B,) against (B, n); at B == n it broadcasts along the wrong
axis, silently: row b is given the sum of row j for its entry j. A default run covers
B = n.

smgrad check --impl examples/buggy/missing_keepdims.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - np.sum(grad_y * y, axis=-1))
