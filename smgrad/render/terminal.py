"""The check report as a person reads it: a table of every check, the worst entries and
probable cause of each failure, notes, and the verdict with the command that repeats the
run; in colour on a terminal, plain for a file or an assertion message."""

from __future__ import annotations

import dataclasses
import io

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from smgrad.config import FAST_ABOVE
from smgrad.render.words import LABEL, SHOWN, STYLE, number, resolves, result_label, run_label, verdict
from smgrad.repeat import command_line, shown_values
from smgrad.report import CheckResult, Report


def console(stderr: bool = False) -> Console:
    """The one rich console of a command, made inside it (one bound at import would
    escape click's test runner); colour only on a terminal, NO_COLOR respected."""
    return Console(highlight=False, soft_wrap=False, stderr=stderr)


def check_table(report: Report) -> Table:
    several = len(report.runs) > 1
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=several, padding=(0, 0, 0, 1))
    columns = [
        ("check", "left"),
        ("scenario", "left"),
        ("method", "left"),
        ("error", "right"),
        ("allowed", "right"),
        ("resolves", "right"),
        ("result", "left"),
    ]
    if several:
        columns.insert(0, ("run", "left"))
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    shown: set = set()
    for r in report:
        if r.covers and r.status in ("passed", "skipped") and not r.weak:
            # An extra case of a default run: its plain passes in one row.
            case = (r.covers, r.dim, r.seed, r.dtype)
            if case in shown:
                continue
            shown.add(case)
            quiet = [q for q in report if (q.covers, q.dim, q.seed, q.dtype) == case]
            passes = [q for q in quiet if q.status == "passed" and not q.weak]
            collapsed = len(passes) + sum(q.status == "skipped" for q in quiet)
            label = "all checks" if collapsed == len(quiet) else f"{len(passes)} other checks"
            power = min((q.resolves for q in passes if q.resolves is not None), default=None)
            cells = [label, r.covers, "-", "-", "-", resolves(dataclasses.replace(r, resolves=power)), result_label(r)]
        else:
            cells = [
                r.name,
                r.case,
                r.method or "-",
                number(r.deviation),
                number(r.allowed),
                resolves(r),
                result_label(r),
            ]
        table.add_row(*([run_label(r)] if several else []), *cells)
    return table


FORWARD = ("softmax", "cross_entropy")


def entries_table(result: CheckResult) -> Table:
    """The worst entries of a failed check. Forward checks compare a value with an
    independently computed expected value, derivative checks analytic with numerical."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    if result.method == "reference":
        value, expected = ("analytic", "reference")
    elif result.name in FORWARD or result.name == "identities":
        value, expected = ("value", "expected")
    elif result.name == "stateless":
        value, expected = ("after others", "fresh")
    else:
        value, expected = ("analytic", "numerical")
    for name in ("index", value, expected, "error", "allowed"):
        table.add_column(name, justify="right" if name != "index" else "left", no_wrap=True)
    for e in result.worst:
        index = "(" + ", ".join(str(i) for i in e.index) + ")"
        table.add_row(index, f"{e.analytic:.10g}", f"{e.numerical:.10g}", number(e.deviation), number(e.allowed))
    return table


class Heading:
    """A title of parts joined by `` · ``, broken between parts (never inside one) where
    the console is too narrow, then note lines."""

    def __init__(self, parts: list[str], notes: list[str]):
        self.parts, self.notes = parts, notes

    def __rich_console__(self, console, options):
        lines, line = [], ""
        for part in self.parts:
            joined = f"{line} · {part}" if line else part
            if line and len(joined) > options.max_width:
                lines.append(line + " ·")
                joined = part
            line = joined
        lines.append(line)
        yield Text("\n".join([*lines, *self.notes]), style="bold")


def report_renderables(report: Report) -> list:
    """Everything the table format shows, in order, but the last line."""
    c = report.config
    batch = "one 1-D vector" if c.batch is None else f"batch {c.batch}"
    if len(report.runs) > 1:
        runs = report.runs
        heading = [
            "smgrad check",
            report.implementation,
            batch,
            f"{len(runs)} runs: dim {shown_values(runs, 'dim')}",
            f"seed {shown_values(runs, 'seed')}",
            shown_values(runs, "dtype"),
        ]
    else:
        heading = ["smgrad check", report.implementation, f"dim {c.dim}", batch, c.dtype, f"seed {c.seed}"]
    notes = []
    if report.arrays != "numpy":
        notes.append(f"called with {report.arrays}")
    notes += [note for note in (found.note() for found in report.precision) if note]
    if report.config_file:
        notes.append(f"defaults from [tool.smgrad] in {report.config_file}")
    if c.resolved_mode == "fast":
        why = f" (auto: B·n² above {FAST_ABOVE:.0e})".replace("e+0", "e") if c.mode == "auto" else ""
        notes.append(f"fast mode{why}: sampled columns and random projections, not every entry")
    notes += report.covered
    parts: list = [
        Heading(heading, notes),
        check_table(report),
    ]
    several = len(report.runs) > 1
    echoes = report.echoes()
    notes: dict[str, list[CheckResult]] = {}
    for i, r in enumerate(report):
        if r.status in SHOWN:
            parts += _failure(r, also=i in echoes, several=several)
        elif r.message and r.status == "passed" and r.name != "identities":
            notes.setdefault(r.message, []).append(r)
    for message, rows in notes.items():
        names = ", ".join(dict.fromkeys(r.name for r in rows))
        scenarios = ", ".join(dict.fromkeys(r.case for r in rows))
        parts.append(Text(f"note: {message} ({names}; {scenarios})", style="dim"))
    parts += [Text(f"hint: {hint}", style="bold") for hint in report.hints]
    rtols = sorted({r.rtol for r in report if r.method is not None and r.rtol is not None})
    rtol = "-" if not rtols else f"{rtols[0]:.2g}" if len(rtols) == 1 else f"{rtols[0]:.2g} to {rtols[-1]:.2g} by run"
    parts.append(Text(f"allowed = atol + rtol·|numerical|; atol: method's error bound; rtol = {rtol}", style="dim"))
    return parts


def _failure(r: CheckResult, also: bool, several: bool = False) -> list:
    """What a failed or errored row shows below the table. A comparison with the seed's
    formula that fails beside a failed numerical one is summarised in one line."""
    where = f"{r.name} / {r.case}" + (f" / {run_label(r)}" if several else "")
    if also:
        return [
            Text(
                f"{where}: also wrong against the seed's formula "
                f"(error {number(r.deviation)}, allowed {number(r.allowed)})",
                style=STYLE[r.status],
            )
        ]
    versus = " (vs the seed's formula)" if r.method == "reference" else ""
    parts: list = [Text(f"{where}{versus}: {LABEL[r.status]}", style=STYLE[r.status])]
    if r.message:
        parts.append(Text("  " + r.message))
    if r.diagnosis:
        parts.append(Text("  probable cause: " + r.diagnosis, style="bold"))
    if r.status == "failed" and r.worst:
        parts.append(entries_table(r))
    return parts


def last_line(report: Report) -> Text:
    """The verdict and the command that reproduces the run, on one line."""
    line = Text(verdict(report), style="bold green" if report.passed else "bold red")
    line.append(" · " + command_line(report.runs, report.implementation, bool(report.covered)), style="default")
    return line


def print_report(console: Console, report: Report) -> None:
    console.print(Group(*report_renderables(report)))
    console.print(last_line(report), soft_wrap=True)


def plain_text(report: Report, width: int = 100) -> str:
    """The table report without colour, as a string (for an assertion message or a file)."""
    console = Console(file=io.StringIO(), width=width, no_color=True, force_terminal=False, highlight=False)
    print_report(console, report)
    return console.file.getvalue()
