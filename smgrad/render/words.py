"""The words every format shares: result labels, numbers, the verdict and its one-line
summary, and which run a row belongs to."""

from __future__ import annotations

from rich.text import Text

from smgrad.report import CheckResult, Report

STYLE = {
    "passed": "green",
    "failed": "bold red",
    "error": "bold magenta",
    "skipped": "dim",
    "inconclusive": "bold yellow",
}
LABEL = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "skipped": "skip", "inconclusive": "NO POWER"}
SHOWN = ("failed", "error", "inconclusive")  # statuses explained below the table


def result_label(r: CheckResult) -> Text:
    """``ok``, ``weak`` (a pass without 10 % power in an entry), ``FAIL``, ..."""
    if r.weak:
        return Text("weak", style="yellow")
    return Text(LABEL[r.status], style=STYLE[r.status])


def resolves(r: CheckResult) -> str:
    """The check's power: the smallest relative error in one entry it flags."""
    if r.resolves is None:
        return "-"
    return ">=1" if r.resolves >= 1 else number(r.resolves, 1)


def number(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits - 1}e}" if v != 0 else "0"


def verdict(report: Report) -> str:
    """``PASSED: all 28 checks``, ``PASSED: 8 of 28 checks (20 skipped)``,
    ``FAILED: 3 failed, 1 error of 28 checks`` or ``NOT VERIFIED: 4 without power of 28
    checks`` (nothing failed, but a check could not have failed either)."""
    s = report.summary
    if report.passed and not s["skipped"]:
        counts = f"all {s['total']} checks"
    elif report.passed:
        counts = f"{s['passed']} of {s['total']} checks"
    else:
        bad = [f"{s['failed']} failed"] if s["failed"] else []
        bad += [f"{s['error']} error{'s' * (s['error'] > 1)}"] if s["error"] else []
        bad += [f"{s['inconclusive']} without power"] if s["inconclusive"] else []
        counts = f"{', '.join(bad)} of {s['total']} checks"
    if s["skipped"]:
        counts += f" ({s['skipped']} skipped)"
    weak = sum(r.weak for r in report)
    if report.passed and weak:
        counts += f", {weak} weak (could not flag 10 % in an entry)"
    word = "PASSED" if report.passed else "FAILED" if s["failed"] or s["error"] else "NOT VERIFIED"
    return f"{word}: {counts}"


def headline(report: Report) -> str:
    """One line for a run that did not pass: each check that failed, errored or had no
    power, in how many scenarios, and the first probable cause given for it, e.g.
    ``softmax_backward failed in 4 scenarios: probable cause: ...; cross_entropy ...``."""
    groups: dict[str, list[CheckResult]] = {}
    for r in report:
        if r.status in SHOWN:
            groups.setdefault(r.name, []).append(r)
    words = {"failed": "failed", "error": "raised", "inconclusive": "had no power"}
    parts = []
    for name, rows in groups.items():
        status = next((s for s in SHOWN if any(r.status == s for r in rows)), rows[0].status)
        scenarios = len({(r.case, r.dim, r.seed, r.dtype) for r in rows})
        text = f"{name} {words[status]} in {scenarios} scenario{'s' * (scenarios > 1)}"
        why = next((r.diagnosis for r in rows if r.diagnosis), None)
        first = next((r.message for r in rows if r.status == "error" and r.message), None)
        if why:
            text += f": probable cause: {why}"
        elif first:
            text += f": {first}"
        parts.append(text)
    return "; ".join(parts) or verdict(report)


def run_label(r: CheckResult) -> str:
    """Which run of several a row belongs to: ``n10 s0 f64``."""
    return f"n{r.dim} s{r.seed} f{(r.dtype or '')[-2:]}"
