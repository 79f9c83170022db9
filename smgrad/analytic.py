"""The seed's formulas: the softmax Jacobian, its vector-Jacobian product and the
cross-entropy gradient, each written from ``y = softmax(x)``.

    dy_i/dx_j = y_i (delta_ij - y_j)            J = diag(y) - y y^T
    (J^T g)_j = y_j (g_j - <g, y>)              without forming J
    dL/dx     = y * sum_k t_k - t  (= y - t when the targets sum to one)

Everything works along the last axis; leading axes are rows of a batch.
"""

from __future__ import annotations

from smgrad import functions
from smgrad.backend import xp
from smgrad.functions import softmax


def softmax_jacobian(x):
    """``J[..., i, j] = dy_i/dx_j``: shape ``(n, n)`` or ``(B, n, n)``."""
    return softmax_jacobian_block(x, slice(None), slice(None))


def softmax_jacobian_block(x, rows, cols):
    """The block ``J[..., rows, cols]`` without forming the rest of ``J``: ``-y_i y_j``,
    and ``y_i (1 - y_i)`` where ``i = j`` (one product per entry; ``1 - y_i`` is exact
    where ``y_i`` is near 1, which ``y_i - y_i**2`` is not)."""
    return jacobian_block_of(softmax(x), rows, cols)


def jacobian_columns(y, cols):
    """``C[k, ..., i] = J[..., i, cols[k]]`` from the softmax's values ``y``: the columns
    ``cols`` laid out as the checks compare them. Built as rows: ``J`` is symmetric, and
    bit for bit too (``y_i * -y_j`` is ``y_j * -y_i``), and rows are written contiguously
    where columns are strided (a full check at n = 3000 took a quarter longer with columns)."""
    return xp.moveaxis(jacobian_block_of(y, cols, slice(None)), -2, 0)


def jacobian_block_of(y, rows, cols):
    """:func:`softmax_jacobian_block` from the softmax's values ``y``."""
    n = y.shape[-1]
    J = y[..., rows, None] * -y[..., None, cols]
    at = xp.full(n, -1)
    row_index, col_index = xp.arange(n)[rows], xp.arange(n)[cols]
    at[row_index] = xp.arange(row_index.size)
    k = at[col_index]  # the row of the block where column c's diagonal entry is, or -1
    on = xp.nonzero(k >= 0)[0]
    d = y[..., col_index[on]]
    J[..., k[on], on] = d * (1 - d)
    return J


def softmax_vjp(x, g):
    """``J^T g`` for each row: the backward pass of softmax for an upstream ``g``."""
    y = softmax(x)
    return y * (g - xp.sum(g * y, axis=-1, keepdims=True))


def softmax_jvp(x, v):
    """``J v`` for directions ``v`` of shape ``(..., B, n)`` (any leading axes over ``x``):
    ``y (v - <y, v>)``; J is symmetric, so this is the VJP formula again."""
    return jvp_of(softmax(x), v)


def jvp_of(y, v):
    """:func:`softmax_jvp` from the softmax's values ``y``."""
    return y * (v - xp.sum(v * y, axis=-1, keepdims=True))


def cross_entropy_grad(x, t, reduction: str = "mean", ignore: bool = False):
    """``dL/dx`` of :func:`smgrad.functions.cross_entropy` for dense targets ``t``.

    The general form ``y * sum(t) - t`` holds for targets of any sum (an ignored row's
    are 0: so is its gradient); with mean reduction each row is divided by the number
    of rows (:func:`smgrad.functions.counted`). ``none``: the gradient of the rows'
    sum, each row's upstream gradient folded into its targets (the loss is linear in them).
    """
    y = softmax(x)
    grad = y * xp.sum(t, axis=-1, keepdims=True) - t
    if reduction == "mean" and x.ndim > 1:
        grad = grad / functions.counted(t, ignore)
    return grad
