"""What one result says of another, applied once a scenario's (or a run's) results are in,
making new results: a Hessian inherits its gradient's cause; a failure in the ``overflow``
scenario alone is an overflowing ``exp``; what the watcher noted (an input changed in
place, a wrong dtype) fails the check it was noted in; every check raising over shapes on
a batch is a 1-D implementation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from smgrad import diagnose
from smgrad.config import Config
from smgrad.report import CheckResult


def hints(results: list[CheckResult], config: Config) -> tuple[str, ...]:
    """What the results as a whole suggest: every check raising over shapes, on a batch,
    is an implementation that takes one sample at a time."""
    ran = [r for r in results if r.status != "skipped"]
    shapes = ("shape", "broadcast", "axis", "dimension", "index")  # what a 1-D function says of a batch
    if (
        ran
        and config.batch is not None
        and all(r.status == "error" for r in ran)
        and any(word in r.message for r in ran for word in shapes)
    ):
        return ("every check raised; an implementation that takes one 1-D sample at a time needs batch none",)
    return ()


def overflow_only(results: list[CheckResult]) -> set[int]:
    """Positions of results that failed in the ``overflow`` scenario alone, where that
    check passed in every other, and showed an overflow (inf or nan values, or an
    OverflowError raised): they met an overflowing ``exp``. A finite wrong value that
    happens to show there is not evidence of one."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(results):
        groups.setdefault((r.name, r.method == "reference"), []).append(i)
    found = set()
    for positions in groups.values():
        rows = [results[i] for i in positions]
        bad = [i for i in positions if results[i].status in ("failed", "error")]
        others = [r for r in rows if r.scenario != "overflow"]
        if others and [results[i].scenario for i in bad] == ["overflow"] and all(r.status == "passed" for r in others):
            r = results[bad[0]]
            if r.nonfinite or (r.status == "error" and "Overflow" in r.message):
                found.add(bad[0])
    return found


def hessian_follows_gradient(results: list[CheckResult]) -> list[CheckResult]:
    """A wrong gradient has a wrong derivative: the Hessian inherits its diagnosis."""
    why = next((r.diagnosis for r in results if r.name == "cross_entropy_grad" and r.diagnosis), None)
    return [
        dataclasses.replace(r, diagnosis=f"follows from cross_entropy_grad: {why}")
        if r.name == "cross_entropy_hessian" and r.status == "failed" and why and not r.diagnosis
        else r
        for r in results
    ]


def with_notes(notes: Mapping, result: CheckResult, allow_inplace: bool = False) -> CheckResult:
    """A function that overwrote its input or returned the wrong dtype fails its checks
    (which ran on copies); with ``allow_inplace`` overwriting is a note on a pass."""
    found = notes.get(result.name)
    if not found or result.status not in ("passed", "failed", "inconclusive"):
        return result
    in_place = [note for note in found if "in place" in note]
    said = [f"{note}; a caller that reuses it gets what was written there" for note in in_place]
    said += [note for note in found if note not in in_place]
    message = "; ".join(filter(None, [f"{result.name} " + "; ".join(said), result.message]))
    if allow_inplace and len(in_place) == len(found):
        return dataclasses.replace(result, message=f"{message} (allowed: allow_inplace)")
    return dataclasses.replace(
        result,
        status="failed",
        message=message,
        diagnosis=diagnose.MUTATION if in_place else result.diagnosis,
    )
