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


class OneGradEntry:
    """BUG: the cross-entropy gradient is exact except entry (0, j) (first sample, class j),
    times 1 + ERROR; with every_row, class j of every row (a function of each row alone,
    whose Hessian is then wrong in row j). The loss is right.

    smgrad check --impl examples/buggy/one_entry.py:OneGradEntry --dim 300 --dtype float32
    """

    def __init__(self, error=1e-3, j=1, every_row=False):
        self.error, self.j, self.every_row = error, j, every_row

    def cross_entropy(self, x, target):
        z = x - x.max(axis=-1, keepdims=True)
        log_y = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return -np.sum(target * log_y) / (x.shape[0] if x.ndim > 1 else 1)

    def cross_entropy_grad(self, x, target):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        g = (y * target.sum(axis=-1, keepdims=True) - target) / (x.shape[0] if x.ndim > 1 else 1)
        if self.every_row or g.ndim == 1:
            g[..., self.j] *= 1 + self.error
        else:
            g[0, self.j] *= 1 + self.error
        return g


class TargetEntry(OneGradEntry):
    """BUG: the cross-entropy gradient at each row's target class times 1 + ERROR (the
    entry ``y_t - 1`` that a fused kernel computes apart from the others); the loss and
    every other entry are right.

    smgrad check --impl examples/buggy/one_entry.py:TargetEntry --dim 262144 --batch 1024 --dtype float32
    """

    def __init__(self, error=0.05):
        super().__init__(error)

    def cross_entropy_grad(self, x, target):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        g = (y * target.sum(axis=-1, keepdims=True) - target) / (x.shape[0] if x.ndim > 1 else 1)
        at = np.argmax(target, axis=-1)
        if g.ndim == 1:
            g[at] *= 1 + self.error
        else:
            g[np.arange(g.shape[0]), at] *= 1 + self.error
        return g
