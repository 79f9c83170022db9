"""Correct: a cross-entropy loss as a torch nn.Module (dense targets, mean over the
batch), the way a training script holds one. Name the class: its forward takes two
arguments, so smgrad checks it as cross_entropy, and its gradient as autograd computes it.

    smgrad check --impl examples/torch/module.py:SoftCrossEntropy
"""

import torch


class SoftCrossEntropy(torch.nn.Module):
    def forward(self, logits, target):
        log_y = torch.log_softmax(logits, dim=-1)
        rows = -(target * log_y).sum(dim=-1)
        return rows.mean() if logits.dim() > 1 else rows
