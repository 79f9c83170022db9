"""BUG: the gradient is built from argmax(target), a one-hot of the largest target, as
code written for class ids does when handed dense targets. Right for one-hot targets,
wrong for soft targets and label smoothing: a default run covers both.

smgrad check --impl examples/buggy/argmax_targets.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(x, target):
    z = x - x.max(axis=-1, keepdims=True)
    log_y = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.mean(np.sum(target * log_y, axis=-1))


def cross_entropy_grad(x, target):
    labels = np.argmax(target, axis=-1)
    grad = softmax(x)
    grad[np.arange(x.shape[0]), labels] -= 1
    return grad / x.shape[0]
