"""Correct: a cross-entropy loss as a torch nn.Module (dense targets, mean over the
batch), the way a training script holds one. Name the class: its forward takes two
arguments, so smgrad checks it as cross_entropy, and its gradient as autograd computes it.
In bfloat16 and float16 it computes in float32 (autograd rounds the gradient once, at
the cast back).

    smgrad check --impl examples/torch/module.py:SoftCrossEntropy
"""

import torch


class SoftCrossEntropy(torch.nn.Module):
    def forward(self, logits, target):
        wide = torch.promote_types(logits.dtype, torch.float32)
        log_y = torch.log_softmax(logits.to(wide), dim=-1)
        rows = -(target.to(wide) * log_y).sum(dim=-1)
        return (rows.mean() if logits.dim() > 1 else rows).to(logits.dtype)
