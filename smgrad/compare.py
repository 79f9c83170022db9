"""Errors, tolerances and verdicts.

An entry passes when ``|analytic - numerical| <= atol + rtol * |numerical|``, with
``atol`` the error bound of the numerical method (:mod:`smgrad.errormodel`) and ``rtol``
the rounding of the analytic value, unless the user overrides either. Values are fed
chunk by chunk, so a Jacobian is never held whole; the comparison keeps the maxima and
the worst few entries, ranked by how far beyond their allowance they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from smgrad.backend import xp


@dataclass(frozen=True)
class Entry:
    """One compared entry: where, both values, the error and what was allowed."""

    index: tuple[int, ...]
    analytic: float
    numerical: float
    error: float
    allowed: float

    def to_dict(self) -> dict:
        return {
            "index": list(self.index),
            "analytic": self.analytic,
            "numerical": self.numerical,
            "error": self.error,
            "allowed": self.allowed,
        }


@dataclass(frozen=True)
class Tolerance:
    """``atol`` per entry (broadcast against the compared values) and a scalar ``rtol``;
    an override replaces the model's value with the user's."""

    atol: object
    rtol: float

    def overridden(self, atol: float | None, rtol: float | None) -> Tolerance:
        return Tolerance(
            atol=self.atol if atol is None else xp.asarray(atol),
            rtol=self.rtol if rtol is None else rtol,
        )


class Comparison:
    """Running comparison of analytic against numerical values."""

    def __init__(self, keep: int = 5):
        self.keep = keep
        self.count = 0
        self.max_abs_error = 0.0
        self.max_rel_error = 0.0
        self.max_atol = 0.0
        self.rtol = 0.0
        self.max_ratio = 0.0
        self._worst: list[tuple[float, Entry]] = []

    def add(self, analytic, numerical, tol: Tolerance, index_of: Callable[[int], tuple]) -> None:
        """Compare two arrays of one shape; ``index_of`` maps a flat position in them to
        the index reported to the user."""
        a = xp.asarray(analytic)
        n = xp.broadcast_to(xp.asarray(numerical), a.shape)
        atol = xp.asarray(tol.atol, dtype=float)
        with xp.errstate(invalid="ignore", over="ignore", divide="ignore"):
            err = xp.abs(a - n).astype(float, copy=False)
            size = xp.abs(n).astype(float, copy=False)
            allowed = atol + tol.rtol * size
            ratio = err / allowed
            worst = float(xp.max(ratio)) if ratio.size else 0.0
            if math.isnan(worst):
                # 0/0 is a pass (nothing allowed, nothing wrong); a NaN value is not.
                ratio = xp.where(err == 0, 0.0, ratio)
                ratio = xp.where(xp.isnan(ratio), xp.inf, ratio)
                err = xp.where(xp.isnan(err), xp.inf, err)
                worst = float(xp.max(ratio))
            rel = err / xp.maximum(size, atol)
        self.count += a.size
        self.rtol = tol.rtol
        if a.size == 0:
            return
        self.max_abs_error = max(self.max_abs_error, float(xp.max(err)))
        self.max_rel_error = max(self.max_rel_error, float(xp.nanmax(rel)) if not xp.all(xp.isnan(rel)) else 0.0)
        self.max_atol = max(self.max_atol, float(xp.max(atol)))
        self.max_ratio = max(self.max_ratio, worst)
        allowed = xp.broadcast_to(allowed, a.shape)
        flat = ratio.ravel()
        k = min(self.keep, flat.size)
        for p in xp.argpartition(-flat, k - 1)[:k]:
            p = int(p)
            entry = Entry(
                index=tuple(int(i) for i in index_of(p)),
                analytic=_real(a.flat[p]),
                numerical=_real(n.flat[p]),
                error=float(err.flat[p]),
                allowed=float(allowed.flat[p]),
            )
            self._worst.append((float(flat[p]), entry))
        self._worst.sort(key=lambda item: -item[0])
        del self._worst[self.keep :]

    @property
    def passed(self) -> bool:
        return self.max_ratio <= 1.0

    @property
    def worst(self) -> list[Entry]:
        """The entries furthest beyond their allowance, worst first."""
        return [entry for _, entry in self._worst]

    @property
    def failing(self) -> list[Entry]:
        return [entry for ratio, entry in self._worst if ratio > 1.0]


def _real(v) -> float:
    return float(v.real) if xp.iscomplexobj(v) else float(v)
