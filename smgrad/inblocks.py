"""Problems too large to hold in float64 (an LLM's batch and vocabulary, fast mode over
:data:`smgrad.config.DRAWN_IN_BLOCKS` entries): drawn, held in their dtype and walked a
block of rows at a time. The forward checks call the implementation on each block as a
batch of its own and compare it with its truth; the derivatives are taken on sampled
rows (:mod:`smgrad.checks.probes`)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from smgrad import config, problems
from smgrad.backend import generator, xp
from smgrad.precision import is_low, round_to, storage

BLOCK_ENTRIES = 2**22
PIECE_ENTRIES = 2**18  # entries judged at a time (:func:`pieces`)
JUDGES = 2  # threads judging blocks while the implementation is called on the next


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

    def logits(start):
        # Drawn in place, in the dtype held (a float64 draw took 40 % of a check here), each
        # block from a stream of its own, on two threads: with the targets not held, a typical
        # problem at 1024 x 262144 is drawn in 1.6 s, not 5.8 s.
        part = x[start : start + block]
        problems.logits(
            scenario,
            generator(seed, index, 43, start),
            part.shape[0],
            dim,
            dtype,
            scale,
            start + block >= rows,
            out=part,
        )
        if is_low(dtype):  # float32 draws held, rounded to bfloat16 or float16
            part[:] = round_to(part, dtype)

    index = problems.SCENARIOS.index(scenario)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(logits, range(0, rows, block)))
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
    if targets != "soft" and smoothing == 0 and target_sum == 1 and upstream is None:  # one-hot, as it is
        t = problems.OneHot(xp.where(ignored, -1, labels) if ignored is not None else labels.copy(), x.shape, held)
        return _held(scenario, x, t, labels, targets, seed, dtype, held, ignored, upstream)
    t = xp.zeros((rows, dim), held)
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


def ahead(draw, scenarios):
    """``draw(scenario)`` for each scenario in turn. Where the first is a batch drawn in
    blocks with one-hot targets, the next is drawn on another thread while this one is
    checked: its derivatives, on the sampled rows, keep one core of two busy for most of
    a scenario. Two problems' logits are then held at once, no more than the logits and
    dense targets of one (what ``Config`` bounds)."""
    scenarios = list(scenarios)
    if not scenarios:
        return
    p = draw(scenarios[0])
    if whole(p) or not isinstance(p.t, problems.OneHot):
        yield p
        del p
        for scenario in scenarios[1:]:
            yield draw(scenario)
        return
    with ThreadPoolExecutor(1, initializer=_behind) as pool:
        for following in [*scenarios[1:], None]:
            drawing = None if following is None else pool.submit(draw, following)
            yield p
            p = None  # released before the one after is drawn
            if drawing is not None:
                p = drawing.result()


def _behind() -> None:
    """This thread (and those it starts) runs when a core is free: drawing the next
    problem takes what the checks of this one leave, not their time (Linux: a thread's
    own nice value; elsewhere nothing). At 1024 x 262144: 38.7 s without, 35.5 s with."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def rows(p: problems.Problem, part, draw: bool = False) -> problems.Problem:
    """Rows ``part`` (a slice or indices) of ``p`` as a problem of its own; upstream
    gradients drawn on demand are drawn for them with ``draw``, else left out."""
    some = {k: None if getattr(p, k) is None else getattr(p, k)[part] for k in ("labels", "ignored", "upstream")}
    g = None if p.g is None or (isinstance(p.g, problems.RowDraws) and not draw) else p.g[part]
    return replace(p, x=p.x[part], t=p.t[part], g=g, **some)


def drawn(p: problems.Problem) -> problems.Problem:
    """``p`` with its upstream gradients and targets made, where they are made on demand."""
    made = {"g": p.g[:]} if isinstance(p.g, problems.RowDraws) else {}
    if isinstance(p.t, problems.OneHot):
        made["t"] = p.t[:]
    return replace(p, **made) if made else p


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
    start, rows)`` (the truth and the comparison, into a comparison of the block's own:
    the caller merges them in order). A batch in blocks has its blocks judged on
    :data:`JUDGES` other threads while the next is called: judging (a float64 truth and a
    comparison) costs several times the call, and numpy lets go of the interpreter in
    both. At most ``JUDGES + 1`` blocks' values are held."""
    if whole(p):
        for start, q in blocks(p):
            value = call(q)
            yield start, q, value, judge(value, start, q)
        return
    with ThreadPoolExecutor(JUDGES) as pool:
        pending = deque()
        for start, q in blocks(p):
            value = call(q)
            pending.append((start, q, value, pool.submit(judge, value, start, q)))
            if len(pending) > JUDGES:
                start_, q_, value_, judgement = pending.popleft()
                yield start_, q_, value_, judgement.result()
        while pending:
            start_, q_, value_, judgement = pending.popleft()
            yield start_, q_, value_, judgement.result()


def pieces(p: problems.Problem):
    """``(offset, rows)``: ``p`` a few rows at a time, :data:`PIECE_ENTRIES` entries or
    one row, for judging: the float64 truth and its comparison make a dozen temporaries
    the size of the rows, which out of cache cost twice as much (16 rows of 262144 judged
    in 0.17 s, a row at a time in 0.08 s, ``benchmarks/llm_scale.py``'s machine)."""
    size = max(1, PIECE_ENTRIES // p.dim)
    if p.batch <= size:
        yield 0, p
        return
    for start in range(0, p.batch, size):
        yield start, rows(p, slice(start, start + size))


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
