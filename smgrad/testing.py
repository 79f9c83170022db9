"""A pytest helper: ``assert_correct(impl)`` fails with smgrad's verdict as its first line.

from smgrad.testing import assert_correct

def test_my_softmax():
    assert_correct("mynet/layers.py", dim=10, batch=4)
"""

from __future__ import annotations

from smgrad.api import check
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
