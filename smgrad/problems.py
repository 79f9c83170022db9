"""Random logits, targets and upstream gradients, and the scenarios they are drawn for.

Every scenario exists because a common bug hides in the easy case:

* ``typical``  logits ~ N(0, scale^2);
* ``peaked``   a large spread, so probabilities saturate towards 0 and 1; even rows are
  confident predictions: the target class is the row's largest logit, raised by
  :data:`CONFIDENT` (softmax there about 0.999 or nearer 1, where ``y - 1`` cancels);
* ``overflow`` a large offset, +offset in even rows and -offset in odd rows, beyond
  where a naive ``exp`` overflows (or underflows to 0/0) in the chosen dtype;
* ``ties``     equal logits and a tied maximum in every row; with a batch, the last row
  has all its logits equal.

Each scenario draws from its own stream of one seed, so adding a scenario never
changes another's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from smgrad import config
from smgrad.backend import generator, largest, xp
from smgrad.options import SCENARIOS, TARGETS
from smgrad.precision import round_to, storage


@dataclass(frozen=True)
class Problem:
    """One scenario's inputs, always as rows ``(B, n)``; ``vector`` marks a problem
    that is passed to implementations as one 1-D vector."""

    scenario: str
    x: object
    t: object
    labels: object
    g: object
    vector: bool
    ignored: object = None  # rows that carry the ignore index (their targets are 0), or None
    upstream: object = None  # reduction none: each row's upstream gradient, folded into its targets
    # What one check of a batch drawn in blocks learnt of its truth for the next (the rows'
    # float64 log-sum-exp); a problem made from this one starts without it.
    truth: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    @property
    def dim(self) -> int:
        return self.x.shape[1]


def peaked_spread(dtype) -> float:
    """Spread of the peaked logits: gaps of a few times this saturate y to 0 and 1
    while the smallest probabilities stay normal numbers in the dtype."""
    return math.log(largest(dtype)) / 12


def overflow_offset(dtype) -> float:
    """An offset 1.5 times the largest argument ``exp`` takes in the dtype."""
    return 1.5 * math.log(largest(dtype))


HIGH_ID = 256  # above this many classes, row 0's class id is at least this
CONFIDENT = 7.0  # a confident row's target logit over the row's others: softmax 1 - 1e-3 or nearer


def make_problem(
    scenario: str,
    dim: int,
    batch: int | None,
    dtype,
    seed: int,
    scale: float = 2.0,
    targets: str = "onehot",
    label_smoothing: float = 0.0,
    target_sum: float = 1.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> Problem:
    """Draw one scenario's problem. ``batch=None`` means one 1-D vector.

    Targets are one-hot (``index`` also gives the class ids; with more than
    :data:`HIGH_ID` classes row 0's id is at least that) or soft (Dirichlet rows);
    ``label_smoothing`` mixes them with the uniform distribution, ``(1 - e) t + e / n``,
    and ``target_sum`` scales them, to exercise the general gradient ``y sum(t) - t``.

    ``ignore_index``: rows 1, 4, 7, ... of a batch carry that class id (and targets of 0:
    no loss, no gradient); no other row's class is it. ``reduction="none"``: each row's
    upstream gradient, random in [0.5, 2), multiplies its targets (the loss is linear in
    them, so the checks differentiate the sum of the rows' losses weighted by it).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    if targets not in TARGETS:
        raise ValueError(f"unknown targets {targets!r}; choose from {', '.join(TARGETS)}")
    rows = 1 if batch is None else batch
    rng = generator(seed, SCENARIOS.index(scenario))
    if rows * dim > config.DRAWN_IN_BLOCKS:
        from smgrad import inblocks  # it draws with this module's scenarios

        return inblocks.draw(
            rng, scenario, rows, dim, dtype, seed, scale, targets, label_smoothing, target_sum, ignore_index, reduction
        )
    x = logits(scenario, rng, rows, dim, dtype, scale)
    labels = rng.integers(0, dim, size=rows)
    if dim > HIGH_ID:  # a class id that a uint8 cannot hold, in the first row
        labels[0] = HIGH_ID + labels[0] % (dim - HIGH_ID)
    if scenario == "peaked":
        confident(x, labels, dim)
    x = round_to(x, dtype)
    if targets == "soft":
        t = rng.dirichlet(xp.ones(dim), size=rows)
    else:
        t = xp.zeros((rows, dim))
        t[xp.arange(rows), labels] = 1.0
    t = ((1 - label_smoothing) * t + label_smoothing / dim) * target_sum
    g = rng.standard_normal((rows, dim))
    ignored = upstream = None
    if ignore_index is not None:
        ignored = xp.arange(rows) % 3 == 1
        labels[~ignored & (labels == ignore_index)] = (ignore_index + 1) % dim
        labels[ignored] = ignore_index
        t[ignored] = 0.0
    if reduction == "none":
        upstream = round_to(0.5 * 4.0 ** rng.random(rows), dtype).astype(float)
        t = t * upstream[:, None]
    return Problem(
        scenario=scenario,
        x=x,
        t=round_to(t, dtype if targets != "index" else storage(dtype)),  # class ids: made inside, not passed
        labels=labels if targets == "index" else None,
        g=round_to(g, dtype),
        vector=batch is None,
        ignored=ignored,
        upstream=upstream,
    )


@dataclass(frozen=True)
class RowDraws:
    """Upstream gradients of a problem drawn in blocks, each row from a stream of its own
    and made only when asked for (``g[rows]``): the derivative checks take them on a
    sample of rows, and the whole ``(B, n)`` would be as large as the logits."""

    seed: int
    stream: int
    shape: tuple[int, int]
    dtype: object
    held: object

    def __getitem__(self, rows):
        rows = xp.arange(self.shape[0])[rows]
        drawn = [generator(self.seed, self.stream, 41, int(b)).standard_normal(self.shape[1]) for b in rows.ravel()]
        return round_to(xp.asarray(drawn).reshape(*rows.shape, self.shape[1]), self.dtype).astype(self.held)


@dataclass(frozen=True)
class OneHot:
    """One-hot targets of a problem drawn in blocks (:mod:`smgrad.inblocks`), made a block
    of rows at a time when asked for (``t[rows]``), as :class:`RowDraws` makes upstream
    gradients: held whole they would be as large as the logits, and first writing a one
    into each row of a fresh gigabyte zeroed all of it (this machine's huge pages: 1.2 s a
    scenario at 1024 x 262144). ``classes``: each row's, -1 where the row is ignored (its
    targets all 0)."""

    classes: object
    shape: tuple[int, int]
    dtype: object

    def __getitem__(self, rows):
        rows = xp.arange(self.shape[0])[rows]
        classes = self.classes[rows.ravel()]
        t = xp.zeros((classes.size, self.shape[1]), self.dtype)
        kept = classes >= 0
        t[xp.arange(classes.size)[kept], classes[kept]] = 1
        return t.reshape(*rows.shape, self.shape[1])


def confident(x, labels, dim: int) -> None:
    """Make even rows confident predictions of their target (in place): the target is
    the row's largest logit (in row 0, among ids from :data:`HIGH_ID` where there are
    more classes), raised by :data:`CONFIDENT` over the row's largest."""
    for b in range(0, x.shape[0], 2):
        first = HIGH_ID if b == 0 and dim > HIGH_ID else 0
        labels[b] = first + int(xp.argmax(x[b, first:]))
        x[b, labels[b]] = xp.max(x[b]) + CONFIDENT


def logits(scenario: str, rng, rows: int, dim: int, dtype, scale: float, last: bool = True, out=None):
    """A scenario's ``(rows, dim)`` logits, standard normal draws made the scenario's in
    place: into ``out`` where given (its dtype the draws'), else a new float64 array.
    ``last``: these rows end the batch (drawn in blocks, only the last block's do)."""
    x = rng.standard_normal((rows, dim)) if out is None else rng.standard_normal(dtype=out.dtype, out=out)
    LOGITS[scenario](rng, x, dtype, scale, last)
    return x


def _typical(rng, x, dtype, scale, last):
    x *= scale


def _peaked(rng, x, dtype, scale, last):
    x *= peaked_spread(dtype)


def _overflow(rng, x, dtype, scale, last):
    x *= scale
    x += (xp.where(xp.arange(x.shape[0]) % 2 == 0, 1.0, -1.0)[:, None] * overflow_offset(dtype)).astype(x.dtype)


def _ties(rng, x, dtype, scale, last):
    # Logits on a coarse grid repeat; the maximum is copied so that it is tied too.
    x *= scale
    xp.round(x, out=x)
    rows, dim = x.shape
    if dim > 1:
        top = xp.argmax(x, axis=-1)
        other = (top + 1 + rng.integers(0, dim - 1, size=rows)) % dim
        x[xp.arange(rows), other] = x[xp.arange(rows), top]
    if rows > 1 and last:
        x[-1] = x[-1, 0]


LOGITS = {"typical": _typical, "peaked": _peaked, "overflow": _overflow, "ties": _ties}


def values_in(p: Problem, dtype, held) -> Problem:
    """``p`` with its values rounded to ``dtype`` and held in ``held``."""
    as_ = lambda a: round_to(a, dtype).astype(held)  # noqa: E731
    g = replace(p.g, dtype=dtype, held=held) if isinstance(p.g, RowDraws) else as_(p.g)
    t = replace(p.t, dtype=held) if isinstance(p.t, OneHot) else as_(p.t)  # 0 and 1: exact in any dtype
    return replace(p, x=as_(p.x), t=t, g=g)
