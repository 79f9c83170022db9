"""BUG: the loss is the mean over the batch, but the gradient is not divided by B.

smgrad check --impl examples/buggy/missing_mean.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(x, target):
    return -(target * np.log(softmax(x))).sum(axis=-1).mean()


def cross_entropy_grad(x, target):
    return softmax(x) - target
