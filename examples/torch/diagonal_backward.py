"""BUG: a torch.autograd.Function whose backward keeps only the Jacobian's diagonal,
y (1 - y) * grad_y: the classic hand-derived softmax backward. Its forward is right.

    smgrad check --impl examples/torch/diagonal_backward.py:Softmax
"""

import torch


class Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.softmax(x, dim=-1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        (y,) = ctx.saved_tensors
        return y * (1 - y) * grad_y
