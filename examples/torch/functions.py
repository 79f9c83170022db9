"""Correct: softmax + cross-entropy written with torch tensors, backward by hand (what a
course assignment or a custom layer does). smgrad calls them with torch tensors.

In bfloat16 and float16 they compute in float32 and round once, as a kernel does (and
torch's own softmax): a sum or a subtraction in bfloat16 loses what smgrad then reports.

    smgrad check --impl examples/torch/functions.py --dtype float32
    smgrad check --impl examples/torch/functions.py --dtype bfloat16
"""

import torch


def _wide(a):
    """``a`` in at least float32 (complex and float64 stay as they are)."""
    return a.to(torch.promote_types(a.dtype, torch.float32))


def _softmax(w):
    e = torch.exp(w - w.real.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def softmax(x):
    return _softmax(_wide(x)).to(x.dtype)


def softmax_backward(x, grad_y):
    y, g = _softmax(_wide(x)), _wide(grad_y)
    return (y * (g - (g * y).sum(dim=-1, keepdim=True))).to(x.dtype)


def cross_entropy(x, target):
    w = _wide(x)
    z = w - w.real.amax(dim=-1, keepdim=True)
    log_y = z - torch.log(torch.exp(z).sum(dim=-1, keepdim=True))
    rows = -(_wide(target) * log_y).sum(dim=-1)
    return (rows.mean() if x.dim() > 1 else rows).to(x.dtype)


def cross_entropy_grad(x, target):
    t = _wide(target)
    g = _softmax(_wide(x)) * t.sum(dim=-1, keepdim=True) - t
    return (g / x.shape[0] if x.dim() > 1 else g).to(x.dtype)
