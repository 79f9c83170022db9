"""A correct, vectorised softmax + cross-entropy layer, as in a hand-written numpy CNN.

smgrad check --impl examples/correct/numpy_layer.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(x):
    y = softmax(x)
    return y[..., :, None] * (np.eye(x.shape[-1], dtype=x.dtype) - y[..., None, :])


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))


def cross_entropy(x, target):
    z = x - x.max(axis=-1, keepdims=True)
    log_y = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    rows = -(target * log_y).sum(axis=-1)
    return rows.mean()


def cross_entropy_grad(x, target):
    y = softmax(x)
    grad = y * target.sum(axis=-1, keepdims=True) - target
    return grad / (x.shape[0] if x.ndim == 2 else 1)
