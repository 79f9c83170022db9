"""Correct: written for a batch, made to take one vector too with np.atleast_2d."""

import numpy as np


def softmax(x):
    z = np.atleast_2d(x)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).reshape(x.shape)


def softmax_jacobian(x):
    y = np.atleast_2d(softmax(x))
    J = np.stack([np.diag(r) - np.outer(r, r) for r in y])
    return J[0] if x.ndim == 1 else J


def softmax_backward(x, g):
    y, g2 = np.atleast_2d(softmax(x)), np.atleast_2d(g)
    return (y * (g2 - np.sum(g2 * y, axis=1, keepdims=True))).reshape(x.shape)


def cross_entropy(x, t):
    z, t2 = np.atleast_2d(x), np.atleast_2d(t)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.sum(t2 * logp) / z.shape[0]


def cross_entropy_grad(x, t):
    z, t2 = np.atleast_2d(x), np.atleast_2d(t)
    y = np.atleast_2d(softmax(z))
    return ((y * t2.sum(axis=1, keepdims=True) - t2) / z.shape[0]).reshape(x.shape)
