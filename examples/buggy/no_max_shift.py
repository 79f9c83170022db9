"""BUG: exp(x) without subtracting the row maximum first: right for small logits,
inf/inf = NaN once a logit passes about 709 (float64) or 88 (float32).

    smgrad check --impl examples/buggy/no_max_shift.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))
