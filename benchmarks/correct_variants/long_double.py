"""Correct: computes in long double, returns the input's dtype."""

import numpy as np


def _y(x):
    z = x.astype(np.longdouble)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax(x):
    return _y(x).astype(x.dtype)


def softmax_jacobian(x):
    y = _y(x)
    return (y[..., :, None] * (np.eye(x.shape[-1], dtype=y.dtype) - y[..., None, :])).astype(x.dtype)


def softmax_backward(x, g):
    y = _y(x)
    return (y * (g - (g * y).sum(axis=-1, keepdims=True))).astype(x.dtype)


def cross_entropy(x, t):
    z = x.astype(np.longdouble)
    z = z - z.max(axis=-1, keepdims=True)
    rows = np.log(np.exp(z).sum(axis=-1)) * t.sum(axis=-1) - (z * t).sum(axis=-1)
    return rows.mean().astype(x.dtype)


def cross_entropy_grad(x, t):
    return ((_y(x) * t.sum(axis=-1, keepdims=True) - t) / x.shape[0]).astype(x.dtype)
