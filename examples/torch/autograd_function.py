"""Correct: a softmax as a torch.autograd.Function with a hand-written backward, the way
a custom op is written. Name the class: smgrad checks its forward (one argument: a
softmax) and the backward autograd runs through it, with random upstream gradients.
In bfloat16 and float16 both compute in float32, and the forward saves its float32
result for the backward; each rounds once to the input's dtype.

    smgrad check --impl examples/torch/autograd_function.py:Softmax --dtype float32
"""

import torch


class Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        w = x.to(torch.promote_types(x.dtype, torch.float32))
        e = torch.exp(w - w.amax(dim=-1, keepdim=True))
        y = e / e.sum(dim=-1, keepdim=True)
        ctx.save_for_backward(y)
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_y):
        (y,) = ctx.saved_tensors
        g = grad_y.to(y.dtype)
        return (y * (g - (g * y).sum(dim=-1, keepdim=True))).to(grad_y.dtype)
