"""BUG: softmax normalised over axis 0, the batch, instead of the classes.

smgrad check --impl examples/buggy/wrong_axis.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))


def cross_entropy_grad(x, target):
    return (softmax(x) - target) / x.shape[0]
