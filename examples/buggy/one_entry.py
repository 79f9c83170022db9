"""BUG: one entry of the Jacobian is wrong, J[0, 0, 1] (first sample, row 0, column 1)
times 1 + ERROR; the backward is J^T g with that J. A test probe of per-entry power:
a random upstream gradient sums n entries and hides it, a whole-row allowance too.

smgrad check --impl examples/buggy/one_entry.py:OneEntry --dim 300 --dtype float32
"""

import numpy as np


class OneEntry:
    def __init__(self, error=1e-3, i=0, j=1):
        self.error, self.i, self.j = error, i, j

    def softmax(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def softmax_jacobian(self, x):
        y = self.softmax(x)
        J = y[..., :, None] * (np.eye(x.shape[-1], dtype=x.dtype) - y[..., None, :])
        first = J if J.ndim == 2 else J[0]
        first[self.i, self.j] *= 1 + self.error
        return J

    def softmax_backward(self, x, grad_y):
        return np.einsum("...ij,...i->...j", self.softmax_jacobian(x), grad_y)
