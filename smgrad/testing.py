"""A pytest helper: ``assert_correct(impl)`` fails with smgrad's table as the message.

from smgrad.testing import assert_correct

def test_my_softmax():
    assert_correct("mynet/layers.py", dim=10, batch=4)
"""

from __future__ import annotations

from smgrad.api import check
from smgrad.report import Report


def assert_correct(impl, **options) -> Report:
    """Run :func:`smgrad.check` on ``impl``; raise ``AssertionError`` whose message is the
    failure table (worst entries, diagnoses, the command to reproduce) unless it passes."""
    report = check(impl, **options)
    if not report.passed:
        from smgrad.render import plain_text

        raise AssertionError("\n" + plain_text(report))
    return report
