"""A full check over 2^17 Jacobian entries (method auto) differentiates sampled columns
and random projections and compares every entry with the seed's formulas (issue 14,
part 1): a single wrong entry is still caught entry by entry, and named; a whole
derivative off by 1e-12 is still caught; a correct implementation still passes; an
explicit method differentiates every column."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import EXAMPLES

import smgrad
from smgrad.checks import probes
from smgrad.testing import with_relative_error

spec = importlib.util.spec_from_file_location("one_entry", EXAMPLES / "buggy" / "one_entry.py")
one_entry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(one_entry)

DIM, BATCH = 200, 4  # B n^2 = 160000: over probes.NUMERICAL_ENTRIES
assert BATCH * DIM**2 > probes.NUMERICAL_ENTRIES


def derivative_rows(report, name):
    return [r for r in report if r.name == name and r.method is not None]


def test_a_large_full_check_differentiates_a_sample_and_compares_every_entry():
    report = smgrad.check(one_entry.OneEntry(0.0), dim=DIM, batch=BATCH, scenarios="typical")
    assert report.passed
    rows = derivative_rows(report, "softmax_jacobian")
    assert [r.method for r in rows] == ["complex", "reference"]
    assert "sampled columns" in rows[0].message
    assert rows[1].resolves < 1e-12  # every entry, to rounding
    # Properties of the formula every entry matched: implied, and said to be.
    (identities,) = [r for r in report if r.name == "identities"]
    assert identities.status == "skipped" and identities.message.startswith("implied")


@pytest.mark.parametrize("seed", range(3))
def test_one_wrong_entry_is_caught_and_named_in_a_sampled_check(seed):
    report = smgrad.check(one_entry.OneEntry(1e-10), dim=DIM, batch=BATCH, seed=seed, scenarios="typical")
    for name in ("softmax_jacobian", "softmax_backward"):
        (reference,) = [r for r in derivative_rows(report, name) if r.method == "reference"]
        assert reference.status == "failed", (name, reference)
        assert (0, 0, 1) in [e.index for e in reference.worst]
    (identities,) = [r for r in report if r.name == "identities"]
    assert identities.status != "skipped"  # where the formula fails, the identities are checked


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_whole_derivative_slightly_off_is_caught_in_a_sampled_check(dtype):
    rel = 1e-12 if dtype == "float64" else 1e-4
    report = smgrad.check(with_relative_error(rel), dim=DIM, batch=BATCH, dtype=dtype, scenarios="typical")
    failed = {r.name for r in report if r.status == "failed"}
    assert {"softmax_jacobian", "softmax_backward", "cross_entropy_grad"} <= failed


def test_an_explicit_method_differentiates_every_column():
    report = smgrad.check(one_entry.OneEntry(0.0), dim=DIM, batch=BATCH, scenarios="typical", method="complex")
    (numerical,) = [r for r in derivative_rows(report, "softmax_jacobian") if r.method == "complex"]
    assert "sampled" not in numerical.message and numerical.status == "passed"


def test_where_every_entry_meets_the_formulas_the_columns_differentiated_are_a_cross_check():
    from smgrad import problems

    p = problems.make_problem("typical", DIM, BATCH, "float64", 0)
    _, plan = probes.plan(p, "full", 0, sample=True)
    crossed = plan.against_formulas()
    assert plan.cols.size == probes.MAX_COORDINATES and crossed.cols.size == probes.CROSS_CHECK
    assert set(crossed.cols.tolist()) <= set(plan.cols.tolist())  # the first of the same sample
    row0 = {int(p.x[0].argmax()), int(p.t[0].argmax()), int(p.x[0].argmin())}
    assert row0 <= set(crossed.cols.tolist())  # the special classes first
    # Every column, or fast mode's sample (no formula for every entry): as they are.
    _, whole = probes.plan(p, "full", 0, sample=False)
    _, fast = probes.plan(p, "fast", 0)
    assert whole.against_formulas() is whole and fast.against_formulas() is fast
