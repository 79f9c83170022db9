"""Reports as a person or a CI job reads them: rich tables, JSON, Markdown.

Nothing here computes; it formats results that :mod:`smgrad.checks` and
:mod:`smgrad.jacobian` have already produced.
"""

from __future__ import annotations

import io
import json
import math
import shlex

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from smgrad import errormodel
from smgrad.backend import xp
from smgrad.config import Config
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


def number(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits - 1}e}" if v != 0 else "0"


def _values_of(runs, key: str) -> str:
    values = list(dict.fromkeys(getattr(c, key) for c in runs))
    if key == "seed" and len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ",".join(str(v) for v in values)


def reproduce(config: Config, runs=None, implementation: str = "reference") -> str:
    """The command line that repeats a run: every option that decides its numbers. An
    implementation given as an object that no SPEC names is said to be one."""
    defaults = Config()
    runs = runs or [config]
    batch = "none" if config.batch is None else str(config.batch)
    words = ["smgrad", "check", "--dim", _values_of(runs, "dim"), "--batch", batch]
    words += ["--seed", _values_of(runs, "seed"), "--dtype", _values_of(runs, "dtype")]
    optional = {
        "--scale": "scale",
        "--method": "method",
        "--step": "step",
        "--rtol": "rtol",
        "--atol": "atol",
        "--targets": "targets",
        "--label-smoothing": "label_smoothing",
        "--target-sum": "target_sum",
        "--reduction": "reduction",
        "--mode": "mode",
    }
    for flag, name in optional.items():
        value = getattr(config, name)
        if value != getattr(defaults, name):
            words += [flag, repr(value) if isinstance(value, float) else str(value)]
    if config.scenarios != defaults.scenarios:
        words += ["--scenarios", ",".join(config.scenarios)]
    if config.impl:
        words += ["--impl", config.impl]
    elif implementation != "reference":
        return (
            shlex.join(words) + f"  (with the implementation {implementation}, given as an object: no --impl names it)"
        )
    return shlex.join(words)


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
        scenarios = len({(r.scenario, r.dim, r.seed, r.dtype) for r in rows})
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


def check_table(report: Report) -> Table:
    several = len(report.runs) > 1
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=several)
    columns = [
        ("check", "left"),
        ("scenario", "left"),
        ("method", "left"),
        ("error", "right"),
        ("allowed", "right"),
        ("result", "left"),
    ]
    if several:
        columns.insert(0, ("run", "left"))
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    for r in report:
        cells = [
            r.name,
            r.scenario,
            r.method or "-",
            number(r.deviation),
            number(r.allowed),
            Text(LABEL[r.status], style=STYLE[r.status]),
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
    else:
        value, expected = ("analytic", "numerical")
    for name in ("index", value, expected, "error", "allowed"):
        table.add_column(name, justify="right" if name != "index" else "left", no_wrap=True)
    for e in result.worst:
        index = "(" + ", ".join(str(i) for i in e.index) + ")"
        table.add_row(index, f"{e.analytic:.10g}", f"{e.numerical:.10g}", number(e.error), number(e.allowed))
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
            f"{len(runs)} runs: dim {_values_of(runs, 'dim')}",
            f"seed {_values_of(runs, 'seed')}",
            _values_of(runs, "dtype"),
        ]
    else:
        heading = ["smgrad check", report.implementation, f"dim {c.dim}", batch, c.dtype, f"seed {c.seed}"]
    notes = []
    if report.config_file:
        notes.append(f"defaults from [tool.smgrad] in {report.config_file}")
    if c.resolved_mode == "fast":
        why = " (auto: B·n² above 4e6)" if c.mode == "auto" else ""
        notes.append(f"fast mode{why}: sampled columns and random projections, not every entry")
    parts: list = [
        Heading(heading, notes),
        check_table(report),
    ]
    several = len(report.runs) > 1
    failed = {
        (r.name, r.scenario, r.dim, r.seed, r.dtype) for r in report if r.status == "failed" and r.method != "reference"
    }
    notes: dict[str, list[CheckResult]] = {}
    for r in report:
        if r.status in SHOWN:
            key = (r.name, r.scenario, r.dim, r.seed, r.dtype)
            parts += _failure(r, also=r.method == "reference" and key in failed, several=several)
        elif r.message and r.status == "passed" and r.name != "identities":
            notes.setdefault(r.message, []).append(r)
    for message, rows in notes.items():
        names = ", ".join(dict.fromkeys(r.name for r in rows))
        scenarios = ", ".join(dict.fromkeys(r.scenario for r in rows))
        parts.append(Text(f"note: {message} ({names}; {scenarios})", style="dim"))
    ran = [r for r in report if r.status != "skipped"]
    shapes = ("shape", "broadcast", "axis", "dimension", "index")  # what a 1-D function says of a batch
    if (
        ran
        and all(r.status == "error" for r in ran)
        and c.batch is not None
        and any(word in r.message for r in ran for word in shapes)
    ):
        parts.append(
            Text(
                "hint: every check raised; an implementation that takes one 1-D sample at a time needs --batch none",
                style="bold",
            )
        )
    rtol = c.rtol if c.rtol is not None else errormodel.rtol(c.dtype, c.dim)
    parts.append(Text(f"allowed = atol + rtol·|numerical|; atol: method's error bound; rtol = {rtol:.2g}", style="dim"))
    return parts


def _failure(r: CheckResult, also: bool, several: bool = False) -> list:
    """What a failed or errored row shows below the table. A comparison with the seed's
    formula that fails beside a failed numerical one is summarised in one line."""
    where = f"{r.name} / {r.scenario}" + (f" / {run_label(r)}" if several else "")
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
    line.append(" · " + reproduce(report.config, report.runs, report.implementation), style="default")
    return line


def print_report(console: Console, report: Report) -> None:
    console.print(Group(*report_renderables(report)))
    console.print(last_line(report), soft_wrap=True)


def plain_text(report: Report, width: int = 100) -> str:
    """The table report without colour, as a string (for an assertion message or a file)."""
    console = Console(file=io.StringIO(), width=width, no_color=True, force_terminal=False, highlight=False)
    print_report(console, report)
    return console.file.getvalue()


def markdown(report: Report) -> str:
    """A Markdown summary, for a CI job's summary page."""
    lines = [
        f"### smgrad: {'passed' if report.passed else 'FAILED'}",
        "",
        "| check | scenario | method | error | allowed | result |",
        "|---|---|---|---:|---:|---|",
    ]
    several = len(report.runs) > 1
    if several:
        lines[2:4] = [
            "| run | check | scenario | method | error | allowed | result |",
            "|---|---|---|---|---:|---:|---|",
        ]
    for r in report:
        run = f"| {run_label(r)} " if several else ""
        lines.append(
            f"{run}| {r.name} | {r.scenario} | {r.method or '-'} | {number(r.deviation)} | {number(r.allowed)} | "
            f"{LABEL[r.status]} |"
        )
    for r in report:
        if r.status in SHOWN:
            lines += ["", f"**{r.name} / {r.scenario}** ({r.method or '-'}): {r.message or LABEL[r.status]}"]
            if r.diagnosis:
                lines += ["", f"Probable cause: {r.diagnosis}"]
            if r.worst and r.status == "failed":
                lines += ["", "| index | analytic | numerical | error | allowed |", "|---|---:|---:|---:|---:|"]
                for e in r.worst:
                    lines.append(
                        f"| {tuple(e.index)} | {e.analytic:.10g} | {e.numerical:.10g} | {number(e.error)} | "
                        f"{number(e.allowed)} |"
                    )
    lines += ["", f"{verdict(report)} · `{reproduce(report.config, report.runs, report.implementation)}`", ""]
    return "\n".join(lines)


def json_text(data: dict) -> str:
    return json.dumps(data, indent=2, allow_nan=False)


def matrix_table(title: str, m, worst: tuple[int, int], fmt: str, columns: range | None = None) -> Table:
    columns = range(m.shape[1]) if columns is None else columns
    if len(columns) < m.shape[1]:
        title += f"  (columns {columns.start}–{columns.stop - 1} of {m.shape[1]})"
    table = Table(title=title, box=box.SIMPLE, pad_edge=False, show_header=True, title_justify="left")
    table.add_column("", style="dim", justify="right")
    for j in columns:
        table.add_column(str(j), justify="right", no_wrap=True)
    for i in range(m.shape[0]):
        cells = []
        for j in columns:
            text = format(float(m[i, j]), fmt)
            cells.append(Text(text + "*", style="bold reverse") if (i, j) == worst else Text(text + " "))
        table.add_row(str(i), *cells)
    return table


def _column_blocks(console: Console, title: str, m, worst, fmt: str) -> list[Table]:
    """The matrix as one table if it fits the console, else as blocks of as many whole
    columns as fit, so that every number shown is whole at any width."""
    n = m.shape[1]
    unbounded = console.options.update_width(10**6)
    for per in range(n, 0, -1):
        table = matrix_table("", m, worst, fmt, range(per))
        if console.measure(table, options=unbounded).maximum <= console.width or per == 1:
            break
    return [matrix_table(title, m, worst, fmt, range(a, min(n, a + per))) for a in range(0, n, per)]


def print_jacobian(console: Console, view, dtype: str, seed: int) -> None:
    """Analytic, numerical and difference matrices: side by side when they fit, one
    below the other when not, in blocks of columns when even one does not fit."""
    n = view.analytic.shape[0]
    console.print(Text(f"smgrad jacobian · dim {n} · {dtype} · seed {seed} · method {view.method}", style="bold"))
    console.print("x = [" + ", ".join(f"{v:.4g}" for v in view.x) + "]")
    console.print("y = softmax(x) = [" + ", ".join(f"{v:.4g}" for v in view.y) + "]")
    matrices = [
        ("analytic  diag(y) − y yᵀ", view.analytic, " .6f"),
        (f"numerical  ({view.method}, h = {view.step:.1e})", view.numerical, " .6f"),
        ("analytic − numerical", view.difference, " .1e"),
    ]
    tables = [matrix_table(title, m, view.worst, fmt) for title, m, fmt in matrices]
    unbounded = console.options.update_width(10**6)
    widths = [console.measure(t, options=unbounded).maximum for t in tables]
    if sum(widths) + 4 <= console.width:
        grid = Table.grid(padding=(0, 2))
        for _ in tables:
            grid.add_column()
        grid.add_row(*tables)
        console.print(grid)
    else:
        for title, m, fmt in matrices:
            for block in _column_blocks(console, title, m, view.worst, fmt):
                console.print(block)
    i, j = view.worst
    console.print(
        f"worst entry (marked *): J[{i}, {j}], |analytic − numerical| = {abs(view.difference[i, j]):.2e}"
        f" (error bound of the method {view.bound:.1e})"
    )
    facts = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name, justify in [
        ("structure (on the numerical J)", "left"),
        ("deviation", "right"),
        ("allowed", "right"),
        ("", "left"),
    ]:
        facts.add_column(name, justify=justify, no_wrap=True)
    for f in view.facts:
        facts.add_row(
            f.claim,
            number(f.deviation),
            number(f.allowed),
            Text("holds" if f.holds else "FAILS", style="green" if f.holds else "bold red"),
        )
    console.print(facts)
    if view.powerless:
        console.print(
            Text(
                f"no power: the method's error bound ({view.bound:.1e}) is as large as the entries themselves, "
                "so no wrong entry could show; use a smaller --step or --scale",
                style="bold yellow",
            )
        )


def _bar(error: float, lo: float, width: int) -> str:
    """A bar whose length is log10(error) on [lo, 1]: longer is worse."""
    if not math.isfinite(error):
        return "█" * width + " (no number)"
    if error <= 0:
        return ""
    frac = (math.log10(error) - lo) / -lo
    return "█" * max(1, round(min(1.0, max(0.0, frac)) * width))


def print_sweep(console: Console, s, width: int = 34) -> None:
    """Per method, the error at each step as a bar on a log scale; then a summary."""
    lo = math.floor(math.log10(float(xp.finfo(s.dtype).eps))) - 1
    console.print(
        Text(f"smgrad sweep · {s.target} · {s.implementation} · dim {s.dim} · {s.dtype} · seed {s.seed}", style="bold")
    )
    console.print(f"error = max|numerical − exact| / max|exact|; bars: log10(error), 1e{lo} to 1")
    if s.note:
        console.print(Text(f"note: {s.note}", style="dim"))
    for m in s.methods:
        table = Table(
            title=f"{m.method} (order {m.order})",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            show_edge=False,
        )
        for name, justify in [("step", "right"), ("error", "right"), ("", "left"), (" ", "left")]:
            table.add_column(name, justify=justify, no_wrap=True)
        best_step = m.best[0]
        default = min(m.steps, key=lambda h: abs(math.log(h / m.default_step)))
        for h, e in zip(m.steps, m.errors, strict=True):
            marks = [w for w, hit in (("best", h == best_step), ("≈ default", h == default)) if hit]
            style = "bold green" if h == best_step else ""
            table.add_row(
                f"{h:.0e}",
                number(e) if math.isfinite(e) else "-",
                Text(_bar(e, lo, width), style=style),
                ", ".join(marks),
            )
        console.print(table)
    summary = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("method", "best step", "its error", "default step", "its error", "eps^(1/(p+1))"):
        summary.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for m in s.methods:
        step, error = m.best
        summary.add_row(
            m.method,
            f"{step:.0e}",
            number(error),
            f"{m.default_step:.1e}",
            number(m.error_at(m.default_step)),
            "-" if m.theory_step is None else f"{m.theory_step:.1e}",
        )
    console.print(summary)
    console.print(
        Text(
            "The default step minimises the error bound smgrad allows (README, Tolerances), so it sits "
            "a little above the best step seen: the bound assumes the worst derivatives and rounding.",
            style="dim",
        )
    )


def _values(v) -> str:
    if v.ndim == 1:
        return "[" + ", ".join(f"{float(a):.4g}" for a in v) + "]"
    return f"{v.shape[0]}×{v.shape[1]} matrix, largest |entry| {float(abs(v).max()):.4g}"


def print_derivation(console: Console, chains, x, t, seed: int) -> None:
    """Each chain of the derivation: formula, reason, value, difference to the line before."""
    console.print(Text(f"smgrad derive · dim {len(x)} · seed {seed} · Σ_i t_i = {float(t.sum()):.4g}", style="bold"))
    console.print(f"x = {_values(x)}")
    console.print(f"t = {_values(t)}")
    console.print("Each line is evaluated on this x and t; Δ is its largest difference to the line before.")
    for chain in chains:
        console.print()
        console.print(Text(chain.title, style="bold underline"))
        for number_, line in enumerate(chain.lines, 1):
            console.print(Text(f"{number_:>3}  {line.step.formula}", style="bold" if line.holds else "bold red"))
            console.print(Text(f"     {line.step.reason}", style="dim"))
            verdict = Text()
            if line.difference is not None:
                ok = line.holds
                verdict = Text(
                    f"Δ {number(line.difference)} {'≤' if ok else '>'} {number(line.allowed)} ",
                    style="green" if ok else "bold red",
                )
                verdict.append("holds" if ok else "does NOT hold")
            console.print(Text(f"     {_values(line.value)}  ").append(verdict))
            if not line.holds and line.step.assumes_unit_sum:
                console.print(
                    Text(f"     this step uses Σ_i t_i = 1, but here Σ_i t_i = {float(t.sum()):.4g}", style="bold red")
                )
            if line.step.reason.startswith("the general form"):
                console.print(Text("     (compared with the line before the one that needs Σ_i t_i = 1)", style="dim"))


def derivation_dict(chains, x, t) -> dict:
    return {
        "x": [float(v) for v in x],
        "t": [float(v) for v in t],
        "chains": [
            {
                "title": c.title,
                "lines": [
                    {
                        "formula": line.step.formula,
                        "reason": line.step.reason,
                        "value": line.value.tolist(),
                        "difference": line.difference,
                        "allowed": line.allowed,
                        "holds": line.holds,
                        "assumes_unit_sum": line.step.assumes_unit_sum,
                    }
                    for line in c.lines
                ],
            }
            for c in chains
        ],
    }


def junit_xml(report: Report) -> str:
    """JUnit XML: one testcase per check, scenario and method; failures carry the worst
    entries and the diagnosis, skipped checks are skipped."""
    import xml.etree.ElementTree as ET

    s = report.summary
    suite = ET.Element(
        "testsuite",
        name="smgrad",
        tests=str(s["total"]),
        failures=str(s["failed"] + s["inconclusive"]),
        errors=str(s["error"]),
        skipped=str(s["skipped"]),
    )
    for r in report:
        method = f" [{r.method}]" if r.method else ""
        run = f" {run_label(r)}" if len(report.runs) > 1 else ""
        case = ET.SubElement(suite, "testcase", classname=f"smgrad.{r.name}", name=f"{r.scenario}{method}{run}")
        if r.status == "failed":
            summary = f"error {number(r.deviation)} > allowed {number(r.allowed)}"
            if r.diagnosis:
                summary += f"; probable cause: {r.diagnosis}"
            element = ET.SubElement(case, "failure", message=summary, type="GradientMismatch")
            lines = [r.message] if r.message else []
            lines += [
                f"{e.index}: analytic {e.analytic!r}, numerical {e.numerical!r}, error {e.error:.3g}, "
                f"allowed {e.allowed:.3g}"
                for e in r.worst
            ]
            element.text = "\n".join(lines)
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.message, type="ImplementationError")
        elif r.status == "inconclusive":
            ET.SubElement(case, "failure", message=r.message, type="NoPower")
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=r.message)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
