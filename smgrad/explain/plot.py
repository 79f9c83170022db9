"""Figures, through the optional ``plot`` extra (matplotlib). Nothing here computes."""

from __future__ import annotations

import math
from pathlib import Path

from smgrad.errors import UsageError, opt

FORMATS = (".png", ".svg", ".pdf")


def plot_sweep(s, path: str) -> None:
    """A log-log figure of error against step for each method of a sweep, with the
    default step (circle) and the textbook optimum eps^(1/(p+1)) (dotted) marked."""
    if Path(path).suffix.lower() not in FORMATS:
        raise UsageError(f"{opt('plot')} {path!r}: give a file ending in {', '.join(FORMATS)}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(f"{opt('plot')} needs matplotlib: pip install 'smgrad[plot]'") from None
    fig, ax = plt.subplots(figsize=(8, 5), dpi=150, layout="constrained")
    floor = 1e-20  # the complex step stays flat far below this; the V of the others is above it
    for m in s.methods:
        points = [(h, e) for h, e in zip(m.steps, m.errors, strict=True) if h >= floor and math.isfinite(e) and e > 0]
        if not points:
            continue
        (line,) = ax.loglog(
            *zip(*points, strict=True), marker="o", markersize=3, linewidth=1.5, label=f"{m.method} (order {m.order})"
        )
        ax.plot(
            [m.default_step],
            [m.default_error],
            marker="o",
            markersize=9,
            markerfacecolor="none",
            color=line.get_color(),
        )
        if m.theory_step is not None:
            ax.axvline(m.theory_step, color=line.get_color(), linestyle=":", linewidth=1)
    eps = 2.0**-52 if s.dtype == "float64" else 2.0**-23
    ax.axhline(eps, color="grey", linestyle="--", linewidth=1, label="machine epsilon")
    ax.set_xlabel("step h")
    ax.set_ylabel("max |numerical − exact| / max |exact|")
    what = {"softmax_jacobian": "softmax Jacobian", "cross_entropy_grad": "cross-entropy gradient"}[s.target]
    ax.set_title(f"Finite-difference error of the {what} · n = {s.dim} · {s.dtype}")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    ax.legend(
        loc="lower left", fontsize=9, title="circles: smgrad's default step\ndotted: eps^(1/(p+1))", title_fontsize=8
    )
    try:
        fig.savefig(path)
    except OSError as e:
        raise UsageError(f"cannot write {opt('plot')} {path!r}: {e.strerror}") from None
    finally:
        plt.close(fig)
