"""Correct: a softmax as a torch.autograd.Function with a hand-written backward, the way
a custom op is written. Name the class: smgrad checks its forward (one argument: a
softmax) and the backward autograd runs through it, with random upstream gradients.

    smgrad check --impl examples/torch/autograd_function.py:Softmax --dtype float32
"""

import torch


class Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        e = torch.exp(x - x.amax(dim=-1, keepdim=True))
        y = e / e.sum(dim=-1, keepdim=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        (y,) = ctx.saved_tensors
        return y * (grad_y - (grad_y * y).sum(dim=-1, keepdim=True))
