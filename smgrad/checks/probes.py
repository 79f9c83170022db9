"""What the derivative checks probe, the one difference between the two modes.

* ``full``: every row, every coordinate column (chunked so that memory stays bounded).
* ``fast``: for sizes where that is out of reach (a vocabulary of a million classes),
  at most :func:`smgrad.config.sampled_rows` rows (rows are independent: the row_independence check sees to
  that), a sample of coordinate columns — every row's largest and smallest logit and
  target class, and random ones — and :data:`PROJECTIONS` random directions ``v``, along
  which ``J v`` costs one evaluation whatever ``n`` is. The directions are zero-mean
  normal vectors: non-negative ones lie near the all-ones vector, which the softmax
  Jacobian sends to zero, and would let a backward that returns zeros pass. An error
  confined to a few entries (a wrong diagonal, the target class) is caught in the
  sampled columns rather than averaged away over n^2 entries.

The derivative checks are the same in both modes; only identities and the comparison
with the seed's formulas, which need every column, are left to full mode.

A full check where differentiating every column costs more than
:data:`NUMERICAL_ENTRIES` Jacobian entries (``B n^2``; method ``auto``) compares every entry
with the seed's formulas (method ``reference``, to ``eps`` of each entry: a single wrong
entry of relative size 1e-13 fails there) and the identities, and differentiates the
implementation's own forward on random projections, as fast mode does (the complex step's
resolve a whole Jacobian off by ``1 + 1e-13``), and on the first :data:`CROSS_CHECK`
sampled columns, a cross-check against its own forward (:meth:`Plan.against_formulas`). Measured
here (AMD EPYC, AVX2; ``benchmarks/versus.py``): a float64 ``exp`` costs 10.6 ns, a complex
one 22 ns, so real differences (two evaluations) cost what the complex step (one) does; it
is the number of columns that is cut, not the arithmetic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from smgrad import bounds, inblocks, numdiff
from smgrad.backend import generator, xp
from smgrad.config import sampled_rows
from smgrad.problems import Problem
from smgrad.report import CheckResult

PROJECTIONS = 4
NUMERICAL_ENTRIES = 2**17  # a full check differentiates every column up to this B n^2
# Sampled columns hold B * n entries each: as many as fit in this many entries, between
# MIN_COORDINATES and MAX_COORDINATES, half of them the rows' special classes.
COORDINATE_ENTRIES = 4 * 10**6
MIN_COORDINATES, MAX_COORDINATES = 4, 24
# Where every entry is also compared with the seed's formulas (a full check over
# NUMERICAL_ENTRIES), a check's differentiated columns cross-check the implementation
# against its own forward; the formulas resolve each entry: the first this many of the sample.
CROSS_CHECK = 8
NOTE = {
    "columns": "fast mode: sampled columns and random projections",
    "coordinates": "fast mode: sampled coordinates and random projections",
}
SAMPLED = {
    "columns": "differentiated on sampled columns and random projections; every entry against the seed's formulas",
    "coordinates": "differentiated on sampled coordinates and random projections; every entry against y*sum(t) - t",
    "hessian": "differentiated on sampled columns and random projections (the gradient's every entry is compared "
    "with y*sum(t) - t)",
    # The seed's own functions, or a low precision's differentiated rows (whose stored
    # values are compared with the formulas in their own rows): no formula row here.
    "columns, no formula": "differentiated on sampled columns and random projections; every entry against the "
    "identities",
    "coordinates, no formula": "differentiated on sampled coordinates and random projections",
    "hessian, no formula": "differentiated on sampled columns and random projections",
}


@dataclass(frozen=True)
class Plan:
    """The probes of one scenario. ``rows`` are the rows of the batch probed (all in
    full mode), ``cols`` the coordinate columns, ``seed`` what the directions come from."""

    mode: str
    batch: int
    rows: tuple[int, ...]
    cols: object
    seed: int
    sampled: bool = False  # full mode, columns sampled: every entry against the formulas only
    cross: object = None  # the sample's first CROSS_CHECK columns, where it is sampled

    @property
    def every_column(self) -> bool:
        """Every column of every row is differentiated."""
        return self.whole and not self.sampled

    def note(self, kind: str, formulas: bool = True) -> str:
        """What was probed, where not every column: ``kind`` is ``columns``,
        ``coordinates`` or ``hessian``; ``formulas``: every entry is compared with the
        seed's formulas in this check's rows."""
        if self.every_column:
            return ""
        if self.sampled:
            return SAMPLED[kind if formulas else f"{kind}, no formula"]
        return NOTE["coordinates" if kind == "coordinates" else "columns"]

    def against_formulas(self) -> Plan:
        """This plan for a check that compares every entry with the seed's formulas too:
        where columns are sampled, the first :data:`CROSS_CHECK` of them (the rows' special
        classes first), a cross-check of the derivatives against the implementation's own
        forward; the formulas resolve each entry (a single entry 1e-13 off), the
        projections a whole Jacobian off by ``1 + 1e-13``. At 32 x 100 the 24 sampled
        columns took 3.9 of a check's 12 ms."""
        return dataclasses.replace(self, cols=self.cross) if self.sampled and self.cross is not None else self

    def everything(self, dim: int) -> Plan:
        """This plan differentiating every column (for a check with no formula to
        compare every entry with)."""
        return dataclasses.replace(self, cols=xp.arange(dim), sampled=False) if self.whole else self

    @property
    def whole(self) -> bool:
        """Every column of every row is probed."""
        return self.mode == "full"

    def columns(self, f, x, method: str, h, chunk: int) -> Iterator[tuple[object, object]]:
        """``(cols, D)`` with ``D[k, b, :] = d f(x_b) / d x_b[cols[k]]``, ``chunk``
        columns at a time, so only a few columns are ever held at once."""
        for start in range(0, self.cols.size, chunk):
            cols = self.cols[start : start + chunk]
            yield cols, numdiff.directional(f, numdiff.Coordinates(x, cols), method, h)

    def directions(self, x, salt: int, chunk: int) -> Projections | None:
        """:data:`PROJECTIONS` zero-mean normal directions per row, scaled to ``max |v| = 1``,
        ``chunk`` at a time (None where every column is differentiated)."""
        if self.every_column:
            return None
        rng = generator(self.seed, 13, salt)
        return Projections(rng.standard_normal((PROJECTIONS, *x.shape), dtype=xp.float32), x.dtype, chunk)

    def in_batch(self, results: list[CheckResult]) -> list[CheckResult]:
        """Results on the probed rows, with their indices those of the whole batch."""
        if len(self.rows) == self.batch:
            return results
        rows, out = self.rows, []
        for r in results:
            worst = [dataclasses.replace(e, index=(rows[e.index[0]], *e.index[1:])) if e.index else e for e in r.worst]
            message = r.message
            if r.method:
                message = "; ".join(filter(None, [message, f"rows {', '.join(map(str, rows))} of {self.batch}"]))
            out.append(dataclasses.replace(r, worst=worst, message=message))
        return out


class Projections:
    """A check's random directions ``v`` (K, N, n), made a group of ``chunk`` at a time
    from the float32 draws held (a group's ``J v`` is one evaluation): at a million
    classes the four directions, their products and allowances were each a (4, 1, 10^6)
    float64 array at once. The directions are the same, bit for bit, taken in groups."""

    def __init__(self, draws, dtype, chunk: int):
        self.draws, self.dtype, self.chunk = draws, dtype, max(1, chunk)
        self.count = draws.shape[0]
        self._made: tuple[int, object] | None = None  # the last group: one group is made once

    def __iter__(self) -> Iterator[tuple[int, object]]:
        """``(k, v)``: the directions ``k, k + 1, ...`` of a group, ``(G, N, n)``."""
        for start in range(0, self.count, self.chunk):
            yield start, self.group(start)

    def group(self, start: int):
        if self._made is None or self._made[0] != start:
            v = self.draws[start : start + self.chunk].astype(self.dtype)
            v /= xp.max(xp.abs(v), axis=-1, keepdims=True)
            self._made = (start, v)
        return self._made[1]


def along(f, x, v, method: str, h):
    """``(G, N, m)``: the derivatives of ``f`` at rows ``x`` along a group of directions ``v``."""
    return numdiff.directional(f, numdiff.Directions(x, v), method, h)


def plan(p: Problem, mode: str, seed: int, sample: bool = False) -> tuple[Problem, Plan]:
    """The problem the derivative checks see (at most :func:`smgrad.config.sampled_rows` rows in fast
    mode) and what they probe in it; ``sample``: a full check over
    :data:`NUMERICAL_ENTRIES` differentiates sampled columns."""
    if mode == "full":
        p, rows = inblocks.drawn(p), tuple(range(p.batch))
        if sample and p.batch * p.dim**2 > NUMERICAL_ENTRIES:
            cols, cross = _coordinates(p, seed), _coordinates(p, seed, CROSS_CHECK)
            return p, Plan("full", p.batch, rows, cols, seed, sampled=True, cross=cross)
        return p, Plan("full", p.batch, rows, xp.arange(p.dim), seed)
    q, rows = _sample_rows(p, seed)
    return q, Plan("fast", p.batch, tuple(rows), _coordinates(q, seed), seed)


def along_scales(scales: bounds.Scales, method: str) -> bounds.Scales:
    """Scales for a direction with ``max |v| = 1``: derivatives up to 2^(p+1) times larger."""
    factor = 2.0 ** (bounds.RULES[method].order + 1)
    return bounds.Scales(value=scales.value, slope=scales.slope * factor, size=scales.size)


def _sample_rows(p: Problem, seed: int) -> tuple[Problem, list[int]]:
    """The first and last rows and random ones between, :func:`smgrad.config.sampled_rows` in all."""
    count = sampled_rows(p.dim)
    if p.batch <= count:
        return inblocks.drawn(p), list(range(p.batch))
    rng = generator(seed, 19)
    middle = rng.choice(xp.arange(1, p.batch - 1), size=count - 2, replace=False)
    rows = sorted({0, p.batch - 1, *(int(b) for b in middle)})
    return inblocks.rows(p, rows, draw=True), rows


def _coordinates(p: Problem, seed: int, most: int = MAX_COORDINATES) -> object:
    """The rows' largest and smallest logits and target classes, then random ones, as
    many as :data:`COORDINATE_ENTRIES` allows, ``most`` at most (fewer give the first
    columns of a larger sample: the same special classes first, then the same random order)."""
    count = int(min(most, max(MIN_COORDINATES, COORDINATE_ENTRIES // (p.batch * p.dim))))
    rng = generator(seed, 11)
    special = xp.stack([xp.argmax(p.x, -1), xp.argmax(p.t, -1), xp.argmin(p.x, -1)], axis=-1).ravel()
    chosen = list(dict.fromkeys(int(j) for j in special))[: max(1, count // 2)]
    for j in rng.permutation(p.dim):
        if len(chosen) >= min(count, p.dim):
            break
        if int(j) not in chosen:
            chosen.append(int(j))
    return xp.asarray(sorted(chosen))
