"""BUG: a gradient summed over the batch, shape (n,) instead of (B, n).

smgrad check --impl examples/buggy/wrong_shape.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_grad(x, target):
    return (softmax(x) - target).mean(axis=0)
