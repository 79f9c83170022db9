"""BUG: class ids stored as uint8, so class 300 becomes 44. Right below 256 classes; a
default run with class ids (--targets index) also runs at dim 300.

smgrad check --impl examples/buggy/uint8_labels.py --targets index
"""

import numpy as np


def _log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def cross_entropy(x, labels):
    labels = labels.astype(np.uint8)
    return -np.mean(_log_softmax(x)[np.arange(x.shape[0]), labels])


def cross_entropy_grad(x, labels):
    labels = labels.astype(np.uint8)
    grad = np.exp(_log_softmax(x))
    grad[np.arange(x.shape[0]), labels] -= 1
    return grad / x.shape[0]
