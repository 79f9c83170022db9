"""The functions as methods of a layer class, checked with the ':object' form.

smgrad check --impl examples/correct/layer_class.py:SoftmaxCrossEntropy
"""

import numpy as np


class SoftmaxCrossEntropy:
    def __init__(self, axis=-1):
        self.axis = axis

    def softmax(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def softmax_backward(self, x, grad_y):
        y = self.softmax(x)
        return y * (grad_y - (grad_y * y).sum(axis=self.axis, keepdims=True))

    def cross_entropy(self, x, target):
        return -(target * np.log(self.softmax(x))).sum(axis=self.axis).mean()

    def cross_entropy_grad(self, x, target):
        return (self.softmax(x) - target) / x.shape[0]
