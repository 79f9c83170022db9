"""A correct layer that needs its forward before its backward, as autograd-style layers
do: softmax(x) keeps y, and softmax_backward(x, g) refuses an x it has not seen. smgrad
calls the forward at the same input before each backward (its stateless check calls
them out of order on purpose, and takes a refusal as no wrong value).

smgrad check --impl examples/correct/forward_first.py:ForwardFirst
"""

import numpy as np


class ForwardFirst:
    def __init__(self):
        self.x = self.y = None
        self.logits = self.targets = None

    def softmax(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.x, self.y = x.copy(), e / e.sum(axis=-1, keepdims=True)
        return self.y

    def softmax_backward(self, x, grad_y):
        if self.x is None or self.x.shape != x.shape or not np.array_equal(self.x, x):
            raise RuntimeError("softmax_backward before softmax(x): call the forward first")
        return self.y * (grad_y - (grad_y * self.y).sum(axis=-1, keepdims=True))

    def cross_entropy(self, x, target):
        z = x - x.max(axis=-1, keepdims=True)
        log_y = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        self.logits, self.targets = x.copy(), target.copy()
        return -np.sum(target * log_y) / x.shape[0]

    def cross_entropy_grad(self, x, target):
        if self.logits is None or self.logits.shape != x.shape or not np.array_equal(self.logits, x):
            raise RuntimeError("cross_entropy_grad before cross_entropy(x, t): call the forward first")
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        return (y * target.sum(axis=-1, keepdims=True) - target) / x.shape[0]
