"""Only the forward functions: the derivative checks are skipped, and the run passes.

smgrad check --impl examples/correct/forward_only.py
"""

import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(x, target):
    return -(target * np.log(softmax(x))).sum(axis=-1).mean()
