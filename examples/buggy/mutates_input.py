"""BUG: softmax shifts its input in place (x -= max), changing the caller's logits.
Its values are right; the caller's array is not any more.

    smgrad check --impl examples/buggy/mutates_input.py
"""

import numpy as np


def softmax(x):
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x
