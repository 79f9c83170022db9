"""A layer whose backward reuses the output its forward cached, whenever the shapes match.

Called in the order of a training step (forward, then backward at the same input) it is
right, and a checker that calls it that way passes it. Called at another input after the
forward, its backward returns the derivative at the forward's input.

smgrad check --impl examples/buggy/stale_cache.py:CachingSoftmax
"""

import numpy as np


class CachingSoftmax:
    def __init__(self):
        self.y = None

    def softmax(self, x):
        e = np.exp(x - x.max(-1, keepdims=True))
        self.y = e / e.sum(-1, keepdims=True)
        return self.y

    def softmax_backward(self, x, grad_y):
        y = self.y if self.y is not None and self.y.shape == x.shape else self.softmax(x)  # the mistake
        return y * (grad_y - (grad_y * y).sum(-1, keepdims=True))
