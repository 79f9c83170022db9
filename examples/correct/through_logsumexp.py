"""A correct softmax written as exp(x - logsumexp(x)), as torch's log_softmax then exp.

Every value of a row carries the same rounding of the log-sum-exp, about eps times the
size of the logits: with logits near 1e3 a row sums to 1 -+ 1e-13. smgrad allows it
(c_X, see Tolerances in the README).

smgrad check --impl examples/correct/through_logsumexp.py
"""

import numpy as np


def _logsumexp(x):
    m = x.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def softmax(x):
    return np.exp(x - _logsumexp(x))


def softmax_jacobian(x):
    y = softmax(x)
    return y[..., :, None] * (np.eye(x.shape[-1], dtype=x.dtype) - y[..., None, :])


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))


def cross_entropy(x, t):
    rows = _logsumexp(x)[..., 0] * t.sum(axis=-1) - (x * t).sum(axis=-1)
    return np.mean(rows)


def cross_entropy_grad(x, t):
    return (softmax(x) * t.sum(axis=-1, keepdims=True) - t) / x.shape[0]
