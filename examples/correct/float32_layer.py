"""A correct float32 layer: everything stays in the dtype it is given (no silent
upcast to float64), as on a GPU.

    smgrad check --impl examples/correct/float32_layer.py --dtype float32
"""

import numpy as np


def softmax(x):
    z = x - np.max(x.real, axis=-1, keepdims=True).astype(x.dtype)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - np.sum(grad_y * y, axis=-1, keepdims=True))


def cross_entropy(x, target):
    z = x - np.max(x.real, axis=-1, keepdims=True).astype(x.dtype)
    log_y = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    return -np.sum(target * log_y) / np.asarray(x.shape[0], dtype=x.real.dtype)


def cross_entropy_grad(x, target):
    y = softmax(x)
    return (y * np.sum(target, axis=-1, keepdims=True) - target) / np.asarray(x.shape[0], dtype=x.dtype)
