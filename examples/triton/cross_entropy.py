"""Correct: a fused softmax + cross-entropy Triton kernel, the way LLM training code
writes one (after Liger-Kernel and Unsloth): one program per row, an online softmax over
vocabulary blocks of 8192 (32000 is not a multiple) with float32 accumulation, and the
gradient written in the forward, so
the backward only scales it by the upstream gradient. bfloat16, float16, float32 and
float64 inputs (each loaded as float32: a float64 run is judged at float32, which
smgrad detects and says); class-id targets; ``reduction`` mean, sum or none;
``ignore_index``; label smoothing.

Without a GPU it runs under Triton's interpreter (``TRITON_INTERPRET=1``, set here when
torch finds no CUDA device), on torch CPU tensors: slow, but every line of the kernel runs.

    smgrad check --impl examples/triton/cross_entropy.py --targets index --dim 32000 --batch 2 --dtype bfloat16
    smgrad check --impl examples/triton/cross_entropy.py:Smoothed --targets index --label-smoothing 0.1

The buggy variants in ``examples/triton/buggy.py`` change one thing each.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton
import triton.language as tl

BLOCK = 8192


@triton.jit
def _fused_kernel(
    X,
    LABELS,
    LOSS,
    GRAD,
    n,
    stride,
    ignore_index,
    smoothing,
    scale,
    BLOCK: tl.constexpr,
    LAST: tl.constexpr,
    STORE_THEN_CORRECT: tl.constexpr,
):
    """Row ``program_id``: its loss into ``LOSS``, ``scale`` times its gradient into
    ``GRAD`` (of X's dtype). ``LAST`` is the number of vocabulary blocks (a buggy variant
    passes one too few); ``STORE_THEN_CORRECT`` (a buggy variant) subtracts the target's
    share after storing softmax in GRAD's dtype."""
    row = tl.program_id(0).to(tl.int64)
    x_row = X + row * stride
    g_row = GRAD + row * stride
    label = tl.load(LABELS + row)
    if label == ignore_index:
        tl.store(LOSS + row, 0.0)
        for start in range(0, n, BLOCK):
            offs = start + tl.arange(0, BLOCK)
            tl.store(g_row + offs, tl.zeros([BLOCK], dtype=tl.float32).to(GRAD.dtype.element_ty), mask=offs < n)
        return
    m = -float("inf")
    s = 0.0
    total = 0.0  # the sum of the logits, for label smoothing
    for b in range(0, LAST):  # the online softmax: a running maximum and a rescaled sum
        offs = b * BLOCK + tl.arange(0, BLOCK)
        x = tl.load(x_row + offs, mask=offs < n, other=-float("inf")).to(tl.float32)
        new_m = tl.maximum(m, tl.max(x, 0))
        s = s * tl.exp(m - new_m) + tl.sum(tl.exp(x - new_m), 0)
        total += tl.sum(tl.where(offs < n, x, 0.0), 0)
        m = new_m
    lse = m + tl.log(s)
    x_label = tl.load(x_row + label).to(tl.float32)
    eps = smoothing
    loss = lse - (1.0 - eps) * x_label - eps / n * total
    tl.store(LOSS + row, loss)
    for start in range(0, n, BLOCK):  # the gradient, (softmax - target) * scale, in the forward
        offs = start + tl.arange(0, BLOCK)
        x = tl.load(x_row + offs, mask=offs < n, other=0.0).to(tl.float32)
        p = tl.exp(x - lse)
        if STORE_THEN_CORRECT:
            g = (p - eps / n) * scale
        else:
            g = (p - eps / n - tl.where(offs == label, 1.0 - eps, 0.0)) * scale
        tl.store(g_row + offs, g.to(GRAD.dtype.element_ty), mask=offs < n)
    if STORE_THEN_CORRECT:  # the target's share, subtracted from the stored (rounded) value
        stored = tl.load(g_row + label).to(tl.float32)
        tl.store(g_row + label, (stored - (1.0 - eps) * scale).to(GRAD.dtype.element_ty))


def fused(x, labels, reduction="mean", ignore_index=-100, smoothing=0.0, in_place=False, bug=()):
    """``(losses per row, gradient of the reduced loss, rows the mean is over)``; the
    gradient is written into ``x`` itself where ``in_place``."""
    x2 = x.reshape(-1, x.shape[-1]).contiguous()
    rows, n = x2.shape
    labels = labels.reshape(-1).to(torch.int64).contiguous()
    kept = rows if "count_ignored" in bug else int((labels != ignore_index).sum())
    scale = 1.0 / max(kept, 1) if reduction == "mean" else 1.0
    losses = torch.empty(rows, dtype=torch.float32, device=x.device)
    grad = x2 if in_place else torch.empty_like(x2)
    last = n // BLOCK if "floor_blocks" in bug else triton.cdiv(n, BLOCK)
    _fused_kernel[(rows,)](
        x2, labels, losses, grad, n, x2.stride(0), ignore_index, smoothing, scale,
        BLOCK=BLOCK, LAST=last, STORE_THEN_CORRECT="store_then_correct" in bug,
    )  # fmt: skip
    return losses, grad.reshape(x.shape), kept


class FusedCrossEntropy(torch.autograd.Function):
    """The loss from the kernel; its backward scales the gradient the forward wrote."""

    @staticmethod
    def forward(ctx, x, labels, reduction, ignore_index, smoothing, in_place, bug):
        losses, grad, kept = fused(x, labels, reduction, ignore_index, smoothing, in_place, bug)
        ctx.save_for_backward(grad)
        ctx.reduction, ctx.scalar_upstream = reduction, "scalar_upstream" in bug
        if reduction == "none":
            return losses.to(x.dtype).reshape(labels.shape)
        total = losses.sum()
        return (total / max(kept, 1) if reduction == "mean" else total).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        if ctx.reduction == "none" and not ctx.scalar_upstream:
            upstream = grad_output.reshape(-1, 1).to(torch.float32)
        else:  # one number for the whole batch (a per-row upstream taken as a scalar: a bug)
            upstream = grad_output.reshape(-1)[0].to(torch.float32)
        g = grad.to(torch.float32).reshape(-1, grad.shape[-1]) * upstream
        return g.reshape(grad.shape).to(grad.dtype), None, None, None, None, None, None


class CrossEntropy:
    """The kernel as smgrad's ``cross_entropy``, its backward through autograd. Options
    as attributes: a subclass sets them (``Smoothed``, the buggy variants)."""

    reduction = "mean"
    ignore_index = -100
    label_smoothing = 0.0
    in_place = False
    bug: tuple = ()

    def cross_entropy(self, x, labels):
        return FusedCrossEntropy.apply(
            x, labels, self.reduction, self.ignore_index, self.label_smoothing, self.in_place, self.bug
        )


class Smoothed(CrossEntropy):
    label_smoothing = 0.1


class Summed(CrossEntropy):
    reduction = "sum"


class PerRow(CrossEntropy):
    reduction = "none"


cross_entropy = CrossEntropy().cross_entropy
