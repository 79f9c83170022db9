"""A correct implementation written with Python loops over preallocated float arrays
and math.exp, as a course assignment might be. The complex step cannot see through it
(math.exp refuses complex numbers, a float array drops them), so smgrad falls back to
Richardson extrapolation rather than report a bug that is not there.

    smgrad check --impl examples/correct/loops.py
"""

import math

import numpy as np


def softmax(x):
    out = np.zeros(x.shape, dtype=x.dtype)
    for b in range(x.shape[0]):
        m = max(x[b])
        total = 0.0
        for i in range(x.shape[1]):
            out[b, i] = math.exp(x[b, i] - m)
            total += out[b, i]
        for i in range(x.shape[1]):
            out[b, i] /= total
    return out


def softmax_jacobian(x):
    y = softmax(x)
    B, n = x.shape
    J = np.zeros((B, n, n), dtype=x.dtype)
    for b in range(B):
        for i in range(n):
            for j in range(n):
                J[b, i, j] = y[b, i] * ((1.0 if i == j else 0.0) - y[b, j])
    return J


def softmax_backward(x, grad_y):
    y = softmax(x)
    out = np.zeros(x.shape, dtype=x.dtype)
    for b in range(x.shape[0]):
        dot = sum(grad_y[b, k] * y[b, k] for k in range(x.shape[1]))
        for j in range(x.shape[1]):
            out[b, j] = y[b, j] * (grad_y[b, j] - dot)
    return out


def cross_entropy(x, target):
    total = 0.0
    for b in range(x.shape[0]):
        m = max(x[b])
        lse = m + math.log(sum(math.exp(v - m) for v in x[b]))
        for k in range(x.shape[1]):
            if target[b, k] != 0:
                total -= target[b, k] * (x[b, k] - lse)
    return total / x.shape[0]


def cross_entropy_grad(x, target):
    y = softmax(x)
    out = np.zeros(x.shape, dtype=x.dtype)
    for b in range(x.shape[0]):
        mass = sum(target[b])
        for k in range(x.shape[1]):
            out[b, k] = (y[b, k] * mass - target[b, k]) / x.shape[0]
    return out
