"""A pytest helper: ``assert_correct(impl)`` fails with smgrad's verdict as its first line.

from smgrad.testing import assert_correct

def test_my_softmax():
    assert_correct("mynet/layers.py", dim=10, batch=4)
"""

from __future__ import annotations

import dataclasses

from smgrad import analytic
from smgrad.api import check
from smgrad.impl import Implementation, reference
from smgrad.report import Report


def assert_correct(impl, **options) -> Report:
    """Run :func:`smgrad.check` on ``impl``; unless it passes, raise ``AssertionError``
    whose first line says what failed and its probable cause (what pytest's summary
    shows), followed by the failure table (worst entries, the command to reproduce)."""
    __tracebackhide__ = True  # pytest shows the test's line, not smgrad's
    report = check(impl, **options)
    if not report.passed:
        from smgrad.render import headline, plain_text

        raise AssertionError(f"{headline(report)}\n\n{plain_text(report)}")
    return report


def with_relative_error(rel: float, reduction: str = "mean") -> Implementation:
    """The reference with every derivative — ``J``, ``J^T g``, ``dL/dx`` and so the
    Hessian — off by the relative error ``rel``: what the checks must catch, and the
    yardstick of the verdict grids (``benchmarks/verdict_grid.py``)."""
    ref = reference(reduction)
    k = 1 + rel
    return dataclasses.replace(
        ref,
        name=f"reference with relative error {rel:g}",
        softmax_jacobian=lambda x: analytic.softmax_jacobian(x) * k,
        softmax_jacobian_block=None,
        softmax_backward=lambda x, g: analytic.softmax_vjp(x, g) * k,
        cross_entropy_grad=lambda x, t: ref.cross_entropy_grad(x, t) * k,
        row_gradients=lambda x, t: ref.row_gradients(x, t) * k,
        is_reference=False,
    )
