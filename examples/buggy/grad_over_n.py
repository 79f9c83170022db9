"""A cross-entropy gradient divided by the number of classes where the mean over the
batch divides by the number of rows.

On a batch of B = n rows it is right, and a check at that shape alone would pass it (only
the Hessian would fail); on a batch of one row, or of any other size, it is wrong, and
smgrad says so of the gradient.
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def cross_entropy(x, t):
    y = softmax(x)
    return -(t * np.log(y)).sum(-1).mean()


def cross_entropy_grad(x, t):
    return (softmax(x) * t.sum(-1, keepdims=True) - t) / x.shape[-1]  # n, where the mean divides by B
