"""BUG: a backward that raises. smgrad reports it as a failed check with the
exception and the line it came from, and carries on with the other checks.

    smgrad check --impl examples/buggy/backward_raises.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(x, grad_y):
    y = softmax(x)
    return y * (grad_y - y @ grad_y)  # (B, n) @ (B, n): shapes do not align
