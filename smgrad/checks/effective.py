"""What precision an implementation computes at, measured once per run, and where its
derivatives can be differentiated.

A kernel often takes float64 and computes in float32 (it loads ``x.to(float32)``); it is
judged at the precision it has, and the report says so. A bfloat16 or float16 run's
derivatives are differentiated at the highest precision the implementation accepts
(differences of bfloat16 values resolve nothing): float64 where it computes in float64
given it, else float32 where it takes float32, else nowhere (its backward is then
compared with the seed's formulas only).

The test: given float64 rows, a function must return float64 and follow a perturbation
of ``2**-20`` of the logits' size linearly, ``f(x + 2d) - f(x) = 2 (f(x + d) - f(x))``
to 1e-3 of the change. float64 arithmetic does, to about 1e-7 at ``n = 1000`` (rounding)
and ``2**-20 X`` (curvature, at the typical scenario's logits); a float32 computation
moves in steps of its spacing, about an eighth of the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from smgrad import bounds, problems
from smgrad.backend import generator, quietly, xp
from smgrad.config import Config, sampled_rows
from smgrad.impl import Implementation
from smgrad.precision import is_low, round_to

PERTURBATION = 2.0**-20


@dataclass(frozen=True)
class Precision:
    """``given``: the run's dtype. ``computes``: the precision the implementation computes
    at, where measured below the given one (else the given one). ``differentiated``: the
    dtype its derivatives are differentiated in (None: nowhere, only compared with the
    seed's formulas); a float32 run may still be differentiated in float64 per function
    (:func:`smgrad.checks.measure.precision`)."""

    given: str
    computes: str
    differentiated: str | None

    @property
    def judged(self) -> str:
        """The dtype the run's values are judged in."""
        return self.computes

    def to_dict(self) -> dict:
        return {"dtype": self.given, "computes": self.computes, "differentiated": self.differentiated}

    def note(self) -> str:
        """What a report says of it, or ``""``."""
        if is_low(self.given):
            where = (
                f"derivatives differentiated in {self.differentiated}, which it takes"
                if self.differentiated
                else "it takes no float32 or float64: its derivatives are compared with the seed's formulas only"
            )
            return f"{self.given} results judged as computed in float32 and stored once; {where}"
        if self.computes != self.given:
            return f"computes at about {self.computes} precision given {self.given}: judged as {self.computes}"
        return ""


def measure(impl: Implementation, cfg: Config) -> Precision:
    """The :class:`Precision` of ``impl`` in a run of ``cfg``, from its functions at the
    run's typical logits."""
    given = cfg.dtype
    if given == "float32":
        return Precision(given, given, given)
    if impl.is_reference:
        return Precision(given, given, "float64")
    rows = cfg.batch if cfg.batch is None else min(cfg.batch, sampled_rows(cfg.dim))  # a few rows tell
    p = problems.make_problem(
        "typical", cfg.dim, rows, given, cfg.seed, cfg.scale, cfg.targets, ignore_index=cfg.ignore_index
    )
    hung = set(impl.recorder.hung)
    try:
        return _measure(impl, p, given)
    finally:  # a function that hung here is reported by the first check that calls it
        impl.recorder.unreported |= set(impl.recorder.hung) - hung


def _measure(impl: Implementation, p: problems.Problem, given: str) -> Precision:
    found = [_computes_in(f, p.x.astype(float)) for f in _row_functions(impl, p)]
    if given == "float64":
        computes = "float32" if "float32" in found else "float64"
        return Precision(given, computes, computes)
    if found and all(c == "float64" for c in found):
        return Precision(given, given, "float64")
    if found and all(c is not None for c in found):
        return Precision(given, given, "float32")
    takes = found and all(_takes_float32(f, p.x) for f in _row_functions(impl, p))
    return Precision(given, given, "float32" if takes else None)


def _row_functions(impl: Implementation, p: problems.Problem) -> list:
    """The implementation's functions as functions of a stack of rows."""
    N = p.batch
    tiled = lambda a, X: xp.tile(a.astype(X.dtype), (X.shape[0] // N, 1))  # noqa: E731
    calls = [
        (impl.softmax, lambda X: impl.softmax(X)),
        (impl.row_losses, lambda X: xp.asarray(impl.row_losses(X, tiled(p.t, X)))[:, None]),
        (impl.softmax_backward, lambda X: impl.softmax_backward(X, tiled(p.g, X))),
        (impl.row_gradients, lambda X: impl.row_gradients(X, tiled(p.t, X))),
    ]
    return [f for present, f in calls if present is not None]


def _computes_in(f, x) -> str | None:
    """``float64`` or ``float32`` (module docstring) for float64 rows ``x``; None where
    ``f`` raises or returns another dtype."""
    d = PERTURBATION * bounds.size_of(x) * generator(0, 31).standard_normal(x.shape)
    try:
        with quietly():
            out = xp.asarray(f(xp.concatenate([x, x + d, x + 2 * d])))
    except Exception:
        return None
    if out.dtype != xp.float64 or out.shape[0] != 3 * x.shape[0]:
        return None
    f0, f1, f2 = xp.split(out, 3)
    with quietly():
        change = float(xp.max(xp.abs(f2 - f0)))
        curve = float(xp.max(xp.abs(f2 - f0 - 2 * (f1 - f0))))
    if not 0 < change < xp.inf:  # constant (one class) or not finite: nothing to tell by
        return "float64"
    return "float64" if curve <= 1e-3 * change else "float32"


def _takes_float32(f, x) -> bool:
    """``f`` returns float32 for float32 rows."""
    try:
        with quietly():
            return xp.asarray(f(round_to(x, "float32"))).dtype == xp.float32
    except Exception:
        return False
