"""Errors, tolerances and verdicts.

An entry passes when ``|analytic - numerical| <= atol + rtol * |numerical|``, with
``atol`` the error bound of the numerical method (:mod:`smgrad.bounds`) and ``rtol``
the rounding of the analytic value, unless the user overrides either. Values are fed
chunk by chunk, so a Jacobian is never held whole; the comparison keeps the maxima and
the worst few entries, ranked by how far beyond their allowance they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from smgrad.backend import quietly, xp


@dataclass(frozen=True)
class Entry:
    """One compared entry: where, both values, how far apart (``deviation``) and what was
    allowed. In JSON the deviation is ``error``, the report's word since version 1."""

    index: tuple[int, ...]
    analytic: float
    numerical: float
    deviation: float
    allowed: float

    def to_dict(self) -> dict:
        return {
            "index": list(self.index),
            "analytic": self.analytic,
            "numerical": self.numerical,
            "error": self.deviation,
            "allowed": self.allowed,
        }


@dataclass(frozen=True)
class Tolerance:
    """``atol`` per entry (broadcast against the compared values) and a scalar ``rtol``;
    an override replaces the model's value with the user's. ``unit``, where given, is a
    floor under the yardstick of the check's power (broadcast like ``atol``): the size a
    value can have in its row, for quantities that can be near zero (a loss)."""

    atol: object
    rtol: float
    unit: object = None

    def overridden(self, atol: float | None, rtol: float | None) -> Tolerance:
        return Tolerance(
            atol=self.atol if atol is None else xp.asarray(atol),
            rtol=self.rtol if rtol is None else rtol,
            unit=self.unit,
        )


class Comparison:
    """Running comparison of analytic against numerical values."""

    def __init__(self, keep: int = 5, power: bool = True):
        """``power=False`` for comparisons whose expected values may all be zero (a sum
        that should vanish, a value that should not move): no ``resolves`` is kept."""
        self.keep, self.power = keep, power
        self.count = 0
        self.max_abs_error = 0.0
        self.max_rel_error = 0.0
        self.max_atol = 0.0
        self.rtol = 0.0
        self.max_ratio = 0.0
        self.nonfinite_analytic = 0
        self.nonfinite_numerical = 0
        self.resolves: float | None = None
        self._worst: list[tuple[float, Entry]] = []

    SLICE = 2**18  # entries compared at a time: temporaries stay in cache, not fresh pages

    def add(self, analytic, numerical, tol: Tolerance, index_of: Callable[[int], tuple]) -> None:
        """Compare two arrays of one shape; ``index_of`` maps a flat position in them to
        the index reported to the user."""
        a = xp.atleast_1d(xp.asarray(analytic))
        if a.size <= self.SLICE:
            return self._add(a, numerical, tol, index_of)
        operands = [a, xp.asarray(numerical), xp.asarray(tol.atol, dtype=float)]
        operands.append(None if tol.unit is None else xp.asarray(tol.unit, dtype=float))
        views, parts = _sliced(operands, a.shape, self.SLICE)
        for start, part in parts:
            a_, n_, atol, unit = (None if v is None else v[part] for v in views)
            self._add(a_, n_, Tolerance(atol, tol.rtol, unit), lambda q, s=start: index_of(q + s))
        return None

    def _add(self, a, numerical, tol: Tolerance, index_of: Callable[[int], tuple]) -> None:
        if a.size == 0:
            return
        n = xp.broadcast_to(xp.asarray(numerical), a.shape)
        atol = xp.asarray(tol.atol, dtype=float)
        with quietly():
            # In place where possible: these arrays can hold millions of entries.
            err = xp.subtract(a, n, dtype=float)
            xp.abs(err, out=err)
            size = xp.abs(n).astype(float, copy=False)
            allowed = size * tol.rtol
            allowed += atol
            ratio = err / allowed
            at_worst = int(xp.argmax(ratio))  # the maximum and where it is, in one pass (NaN first, as max)
            worst = float(ratio.reshape(-1)[at_worst])
            if self.power:
                self._power(allowed, size, tol.unit)
            scale = xp.maximum(size, atol)
            xp.divide(err, scale, out=scale)
            worst_rel = float(xp.max(scale))
            rel = scale
            if not math.isfinite(worst) or math.isnan(worst_rel):
                self.nonfinite_analytic += int(xp.count_nonzero(~xp.isfinite(a)))
                self.nonfinite_numerical += int(xp.count_nonzero(~xp.isfinite(n)))
            if math.isnan(worst) or math.isnan(worst_rel):
                # 0/0 is a pass (nothing allowed, nothing wrong); a NaN value is not.
                ratio = _nan_to_inf(xp.where(err == 0, 0.0, ratio))
                rel = _nan_to_inf(xp.where(err == 0, 0.0, rel))
                err = _nan_to_inf(err)
                at_worst = int(xp.argmax(ratio))
                worst, worst_rel = float(ratio.reshape(-1)[at_worst]), float(xp.max(rel))
        self.count += a.size
        self.rtol = tol.rtol
        self.max_abs_error = max(self.max_abs_error, float(xp.max(err)))
        self.max_rel_error = max(self.max_rel_error, worst_rel)
        self.max_atol = max(self.max_atol, float(xp.max(atol)))
        self.max_ratio = max(self.max_ratio, worst)
        if len(self._worst) == self.keep and worst <= self._worst[-1][0]:
            return  # nothing here displaces the entries kept
        allowed = xp.broadcast_to(allowed, a.shape)
        flat = ratio.ravel()
        # Passing entries: only the worst one is ever shown, and argmax is far cheaper.
        k = min(self.keep, flat.size) if worst > 1 else 1
        top = xp.argpartition(-flat, k - 1)[:k] if k > 1 else [at_worst]
        for p in top:
            p = int(p)
            at = xp.unravel_index(p, a.shape)  # not a.reshape(-1)[p]: that copies a strided a
            entry = Entry(
                index=tuple(int(i) for i in index_of(p)),
                analytic=_real(a[at]),
                numerical=_real(n[at]),
                deviation=float(err[at]),
                allowed=float(allowed[at]),
            )
            self._worst.append((float(flat[p]), entry))
        # Ties (a symmetric J's two halves) in index order, so reports repeat on any machine.
        self._worst.sort(key=lambda item: (-item[0], item[1].index))
        del self._worst[self.keep :]

    def merge(self, other: Comparison) -> None:
        """Take in ``other``, a comparison of later values made apart (a block of rows
        judged on another thread): the same as having added its values here."""
        self.count += other.count
        if other.count:
            self.rtol = other.rtol
        self.max_abs_error = max(self.max_abs_error, other.max_abs_error)
        self.max_rel_error = max(self.max_rel_error, other.max_rel_error)
        self.max_atol = max(self.max_atol, other.max_atol)
        self.max_ratio = max(self.max_ratio, other.max_ratio)
        self.nonfinite_analytic += other.nonfinite_analytic
        self.nonfinite_numerical += other.nonfinite_numerical
        if other.resolves is not None:
            self.resolves = other.resolves if self.resolves is None else min(self.resolves, other.resolves)
        self._worst = sorted(self._worst + other._worst, key=lambda item: (-item[0], item[1].index))[: self.keep]

    def _power(self, allowed, size, unit) -> None:
        """Keep the smallest error, relative to the value it is in, that fails an entry:
        ``allowed / |value|`` (the value floored at ``unit`` where given). Entries whose
        value is zero resolve no relative error; where all are, nothing is kept (any
        value there beyond its allowance fails, but no relative power is measured)."""
        yardstick = size if unit is None else xp.maximum(size, xp.asarray(unit, dtype=float))
        # allowed / 0 is inf, 0 / 0 nan: both ignored by fmin (a masked divide costs 3x more).
        best = float(xp.fmin.reduce(xp.divide(allowed, yardstick), axis=None))
        if not math.isfinite(best) and not xp.any(yardstick > 0):
            return
        if math.isnan(best):
            best = math.inf
        self.resolves = best if self.resolves is None else min(self.resolves, best)

    @property
    def passed(self) -> bool:
        return self.max_ratio <= 1.0

    @property
    def powerless(self) -> bool:
        """True when no compared part could have failed an error as large as the quantity."""
        return self.resolves is not None and not self.resolves < 1.0

    @property
    def worst(self) -> list[Entry]:
        """The entries furthest beyond their allowance, worst first."""
        return [entry for _, entry in self._worst]

    @property
    def failing(self) -> list[Entry]:
        return [entry for ratio, entry in self._worst if ratio > 1.0]


def _sliced(operands, shape, size: int):
    """``(views, parts)``: the operands broadcast to ``shape`` and ``(flat start, index)``
    of consecutive slices of at most ``size`` entries, in order. Along the last axis where
    it is that long: views of every operand, a broadcast or strided one too (flattening one
    copied it whole: 32 MB for a (4, 1, 10^6) allowance at a million classes); else of the
    flattened operands."""
    views = [None if o is None else xp.broadcast_to(o, shape) for o in operands]
    if len(shape) > 1 and shape[-1] >= size:
        n = shape[-1]
        parts = (
            (row * n + start, (*lead, slice(start, start + size)))
            for row, lead in enumerate(xp.ndindex(*shape[:-1]))
            for start in range(0, n, size)
        )
        return views, parts
    total = int(xp.prod(shape))
    flat = [None if v is None else v.reshape(-1) for v in views]
    return flat, ((start, slice(start, start + size)) for start in range(0, total, size))


def _nan_to_inf(a):
    return xp.where(xp.isnan(a), xp.inf, a)


def _real(v) -> float:
    return float(v.real) if xp.iscomplexobj(v) else float(v)
