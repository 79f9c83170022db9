"""Implementations under test, seen through one interface.

Checks speak to an :class:`Implementation`: functions of rows ``(N, n)`` and dense
targets ``(N, n)``, any of which may be missing. The built-in reference is one;
adapters for a user's module present theirs the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smgrad import analytic, functions

NAMES = ("softmax", "softmax_jacobian", "softmax_backward", "cross_entropy", "cross_entropy_grad")


@dataclass(frozen=True)
class Implementation:
    """The protocol functions, on rows. Missing ones are None.

    ``row_losses(X, T) -> (N,)`` is the per-row loss behind ``cross_entropy``, which is
    what gets differentiated numerically (rows are independent, the reduction is not).
    ``softmax_jacobian_block(X, rows, cols)``, where present, gives part of the Jacobian
    so that a large one is never formed whole.
    """

    name: str
    softmax: Callable | None = None
    softmax_jacobian: Callable | None = None
    softmax_backward: Callable | None = None
    cross_entropy: Callable | None = None
    cross_entropy_grad: Callable | None = None
    row_losses: Callable | None = None
    softmax_jacobian_block: Callable | None = None
    is_reference: bool = False


def reference(reduction: str = "mean") -> Implementation:
    """smgrad's own functions (the seed's formulas) as an implementation."""
    return Implementation(
        name="reference",
        softmax=functions.softmax,
        softmax_jacobian=analytic.softmax_jacobian,
        softmax_backward=analytic.softmax_vjp,
        cross_entropy=lambda x, t: functions.cross_entropy(x, t, reduction),
        cross_entropy_grad=lambda x, t: analytic.cross_entropy_grad(x, t, reduction),
        row_losses=lambda x, t: functions.cross_entropy(x, t, "none"),
        softmax_jacobian_block=analytic.softmax_jacobian_block,
        is_reference=True,
    )
