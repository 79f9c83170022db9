"""A correct implementation that only takes one sample, a 1-D vector of logits.

smgrad check --impl examples/correct/single_sample.py --batch none
"""

import numpy as np


def softmax(x):
    if x.ndim != 1:
        raise ValueError("one sample at a time")
    e = np.exp(x - x.max())
    return e / e.sum()


def softmax_jacobian(x):
    y = softmax(x)
    return np.diag(y) - np.outer(y, y)


def cross_entropy(x, target):
    return -np.sum(target * np.log(softmax(x)))


def cross_entropy_grad(x, target):
    return softmax(x) * target.sum() - target
