"""The views of ``smgrad jacobian``, ``sweep`` and ``derive``: matrices side by side (or
in blocks of columns on a narrow terminal), error against step as bars, the derivation
line by line; and their JSON."""

from __future__ import annotations

import json
import math

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from smgrad.render.words import number


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
    lo = s.floor
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
        default = m.default_tried
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
            number(m.default_error),
            "-" if m.theory_step is None else f"{m.theory_step:.1e}",
        )
    console.print(summary)
    console.print(
        Text(
            "The default step minimises the error bound smgrad allows (docs/error-model.md), so it sits "
            "a little above the best step seen: the bound assumes the worst derivatives and rounding.",
            style="dim",
        )
    )


def _values(v) -> str:
    if v.ndim == 1:
        return "[" + ", ".join(f"{float(a):.4g}" for a in v) + "]"
    return f"{v.shape[0]}×{v.shape[1]} matrix, largest |entry| {float(abs(v).max()):.4g}"


def print_derivation(console: Console, d) -> None:
    """Each chain of the derivation: formula, reason, value, difference to the line before."""
    chains, x, t, seed = d.chains, d.x, d.t, d.seed
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
