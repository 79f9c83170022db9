"""How a check becomes a result: measured (a comparison's verdict, decided here once),
skipped, or raised (the implementation's failure, never smgrad's), and the probable cause
given to failed results. Results are made whole; nothing changes them afterwards."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from smgrad.compare import Comparison
from smgrad.problems import Problem
from smgrad.report import CheckResult
from smgrad.usercode import ImplementationError, describe

POWERLESS = (
    "no power: the allowed error is as large as the values themselves, so no wrong value could fail "
    "(a step, atol or rtol too large, or logits too large to differentiate)"
)


def measured(
    name: str,
    p: Problem,
    cmp: Comparison,
    method: str | None = None,
    step: float | None = None,
    message: str = "",
    violated: bool = False,
    diagnosis: str | None = None,
    precision: str | None = None,
) -> CheckResult:
    """The verdict of ``cmp``: failed if an entry is beyond its allowance (or the check
    found a violation of its own, ``violated``), inconclusive if it passed without the
    power to fail, else passed. ``diagnosis`` is kept only on a failure."""
    found = []
    if cmp.nonfinite_analytic:
        found.append(f"{cmp.nonfinite_analytic} non-finite values in the implementation's results")
    if cmp.nonfinite_numerical:
        found.append(f"{cmp.nonfinite_numerical} non-finite values in what they are compared with")
    status = "failed" if violated or not cmp.passed else "passed"
    if status == "passed" and cmp.powerless:
        status = "inconclusive"
        found.append(POWERLESS)
    return CheckResult(
        name=name,
        scenario=p.scenario,
        status=status,
        method=method,
        max_abs_error=cmp.max_abs_error,
        max_rel_error=cmp.max_rel_error,
        atol=cmp.max_atol,
        rtol=cmp.rtol,
        step=step,
        resolves=cmp.resolves,
        precision=precision,
        worst=cmp.failing if not cmp.passed else cmp.worst[:1],
        message="; ".join(filter(None, [*found, message])),
        diagnosis=diagnosis if status == "failed" else None,
        nonfinite=cmp.nonfinite_analytic > 0,
    )


def skipped(name: str, p: Problem, why: str) -> CheckResult:
    return CheckResult(name, p.scenario, "skipped", message=why)


def missing(name: str, p: Problem, function: str) -> CheckResult:
    """Skipped: the implementation has no ``function``."""
    return skipped(name, p, f"the implementation defines no {function}")


def raised(name: str, p: Problem, e: Exception) -> CheckResult:
    """The implementation failed while ``name`` was checked. smgrad's own running out of
    memory is not the implementation's failure: it goes on up."""
    if isinstance(e, MemoryError):
        raise e
    message = str(e) if isinstance(e, ImplementationError) else f"raised {describe(e)}"
    return CheckResult(name, p.scenario, "error", message=message)


def guarded(names: tuple[str, ...], p: Problem, body: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """``body()``, or one ``error`` result per name if the implementation raised."""
    try:
        return body()
    except Exception as e:
        return [raised(name, p, e) for name in names]


def diagnosed(rows: list[CheckResult], why: Callable[[], str | None]) -> list[CheckResult]:
    """``rows`` with the probable cause on each failed one (``why()`` is evaluated only
    if one failed: it can cost as much as the check)."""
    if not any(r.status == "failed" for r in rows):
        return rows
    text = why()
    return [dataclasses.replace(r, diagnosis=text) if r.status == "failed" else r for r in rows]


def merged(rows: list[CheckResult], more: list[CheckResult]) -> list[CheckResult]:
    """``rows`` with ``more`` after the last row of the same check (a check's rows together)."""
    out = list(rows)
    for r in more:
        last = max((i for i, o in enumerate(out) if o.name == r.name), default=len(out) - 1)
        out.insert(last + 1, r)
    return out
