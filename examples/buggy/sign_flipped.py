"""BUG: the cross-entropy gradient with the wrong sign, t - y.

smgrad check --impl examples/buggy/sign_flipped.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(x, target):
    return -(target * np.log(softmax(x))).sum(axis=-1).mean()


def cross_entropy_grad(x, target):
    return (target - softmax(x)) / x.shape[0]
