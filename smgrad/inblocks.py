"""Problems too large to hold in float64 (an LLM's batch and vocabulary, fast mode over
:data:`smgrad.config.DRAWN_IN_BLOCKS` entries): drawn, held in their dtype and walked a
block of rows at a time. The forward checks call the implementation on each block as a
batch of its own and compare it with its truth; the derivatives are taken on sampled
rows (:mod:`smgrad.checks.probes`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from smgrad import config, problems
from smgrad.backend import xp
from smgrad.precision import round_to, storage

BLOCK_ENTRIES = 2**22


def draw(rng, scenario, rows, dim, dtype, seed, scale, targets, smoothing, target_sum, ignore_index, reduction):
    """A large problem (over :data:`smgrad.config.DRAWN_IN_BLOCKS` entries), drawn the
    same way a block of rows at a time and held in its dtype: the float64 arrays of the
    whole would be eight times the logits (at 1024 x 262144 in float32, 16 GiB). Soft
    targets are normalised exponential draws (a flat Dirichlet, as
    :func:`smgrad.problems.make_problem` draws); upstream gradients are
    :class:`smgrad.problems.RowDraws`."""
    held = storage(dtype)
    block = max(2, BLOCK_ENTRIES // dim // 2 * 2)  # even: the overflow scenario alternates signs by row
    x = xp.empty((rows, dim), held)
    for start in range(0, rows, block):
        stop = min(rows, start + block)
        # Drawn in float32 where that is what is held (a float64 draw took 40 % of a check here).
        x[start:stop] = round_to(
            problems.LOGITS[scenario](rng, stop - start, dim, dtype, scale, stop == rows, held), dtype
        )
    labels = rng.integers(0, dim, size=rows)
    if dim > problems.HIGH_ID:
        labels[0] = problems.HIGH_ID + labels[0] % (dim - problems.HIGH_ID)
    if scenario == "peaked":
        problems.confident(x, labels, dim)
        even = xp.arange(0, rows, 2)
        x[even, labels[even]] = round_to(x[even, labels[even]], dtype)
    ignored = xp.arange(rows) % 3 == 1 if ignore_index is not None else None
    if ignored is not None:
        labels[~ignored & (labels == ignore_index)] = (ignore_index + 1) % dim
        labels[ignored] = ignore_index
    upstream = round_to(0.5 * 4.0 ** rng.random(rows), dtype).astype(float) if reduction == "none" else None
    t = xp.zeros((rows, dim), held)
    if targets != "soft" and smoothing == 0 and target_sum == 1 and upstream is None:  # one-hot, as it is
        kept = xp.ones(rows, bool) if ignored is None else ~ignored
        t[xp.arange(rows)[kept], labels[kept]] = 1
        return _held(scenario, x, t, labels, targets, seed, dtype, held, ignored, upstream)
    for start in range(0, rows, block):
        part = slice(start, min(rows, start + block))
        if targets == "soft":
            e = rng.standard_exponential((part.stop - start, dim))
            tb = e / xp.sum(e, axis=-1, keepdims=True)
        else:
            tb = xp.zeros((part.stop - start, dim))
            tb[xp.arange(tb.shape[0]), labels[part]] = 1.0
        tb = ((1 - smoothing) * tb + smoothing / dim) * target_sum
        if ignored is not None:
            tb[ignored[part]] = 0.0
        if upstream is not None:
            tb *= upstream[part, None]
        t[part] = round_to(tb, dtype if targets != "index" else held)
    return _held(scenario, x, t, labels, targets, seed, dtype, held, ignored, upstream)


def _held(scenario, x, t, labels, targets, seed, dtype, held, ignored, upstream) -> problems.Problem:
    return problems.Problem(
        scenario=scenario,
        x=x,
        t=t,
        labels=labels if targets == "index" else None,
        g=problems.RowDraws(seed, problems.SCENARIOS.index(scenario), x.shape, dtype, held),
        vector=False,
        ignored=ignored,
        upstream=upstream,
    )


def rows(p: problems.Problem, part, draw: bool = False) -> problems.Problem:
    """Rows ``part`` (a slice or indices) of ``p`` as a problem of its own; upstream
    gradients drawn on demand are drawn for them with ``draw``, else left out."""
    some = {k: None if getattr(p, k) is None else getattr(p, k)[part] for k in ("labels", "ignored", "upstream")}
    g = None if isinstance(p.g, problems.RowDraws) and not draw else p.g[part]
    return replace(p, x=p.x[part], t=p.t[part], g=g, **some)


def drawn(p: problems.Problem) -> problems.Problem:
    """``p`` with its upstream gradients made, where they are drawn on demand."""
    return replace(p, g=p.g[:]) if isinstance(p.g, problems.RowDraws) else p


def blocks(p: problems.Problem):
    """``(start, rows)``: the problem whole, or, over :data:`smgrad.config.DRAWN_IN_BLOCKS`
    entries, a block of :data:`BLOCK_ENTRIES` of its rows at a time (each a
    batch of its own, called and compared in turn: a forward of a whole (1024, 262144)
    batch, its copies and its float64 truth would take gigabytes)."""
    if whole(p):
        yield 0, p
        return
    size = _rows_per_block(p)
    for start in range(0, p.batch, size):
        yield start, rows(p, slice(start, start + size))


def judged(p: problems.Problem, call, judge):
    """``(start, rows, value, judgement)`` for each of :func:`blocks`: ``value = call(rows)``
    (the implementation: always on this thread, in order) and ``judgement = judge(value,
    start, rows)`` (the truth and the comparison). A batch in blocks has a block judged on
    a second thread while the next is called: the two cost alike and numpy lets go of the
    interpreter in both. One block behind at most, so at most two blocks' values are held."""
    if whole(p):
        for start, q in blocks(p):
            value = call(q)
            yield start, q, value, judge(value, start, q)
        return
    with ThreadPoolExecutor(1) as pool:
        behind = None
        for start, q in blocks(p):
            value = call(q)
            if behind is not None:
                yield *behind[:3], behind[3].result()
            behind = (start, q, value, pool.submit(judge, value, start, q))
        if behind is not None:
            yield *behind[:3], behind[3].result()


def known_lse(p: problems.Problem, start: int, q: problems.Problem):
    """Where rows ``start...`` of a batch drawn in blocks keep their log-sum-exp (None for
    a batch taken whole)."""
    if whole(p):
        return None
    return p.truth.setdefault("lse", xp.full(p.batch, xp.nan))[start : start + q.batch]


def called_in_blocks(p: problems.Problem) -> list[str]:
    """What a check's message says of a batch walked in blocks."""
    return [] if whole(p) else [f"called on {_rows_per_block(p)} rows at a time"]


def whole(p: problems.Problem) -> bool:
    """The problem is taken whole: at most :data:`smgrad.config.DRAWN_IN_BLOCKS` entries."""
    return p.x.size <= config.DRAWN_IN_BLOCKS


def _rows_per_block(p: problems.Problem) -> int:
    return max(1, BLOCK_ENTRIES // p.dim)


def from_row(start: int, index):
    """``index`` with its row counted from ``start``."""
    if start == 0:
        return index
    return lambda q: (lambda idx: (idx[0] + start, *idx[1:]) if idx else idx)(index(q))
