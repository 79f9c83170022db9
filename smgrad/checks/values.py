"""Checks of values: each forward against the truth computed independently in float64,
and row independence (changing one row of a batch changes no other row's results, which
the derivative checks rely on: they perturb every row at once)."""

from __future__ import annotations

from smgrad import allowances, bounds, diagnose, functions, inblocks, problems
from smgrad.backend import eps as machine_eps
from smgrad.backend import quietly, xp
from smgrad.checks import consistency
from smgrad.checks.measure import index_of, loss_scales, row_weight, softmax_scales, tolerance
from smgrad.checks.outcome import diagnosed, measured, missing, skipped
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.precision import accumulating, is_low, numbers, round_to
from smgrad.report import CheckResult


def softmax(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """The forward against the truth in float64; rows finite, in [0, 1], summing to 1.
    A large batch is called a block of rows at a time (:func:`smgrad.inblocks.blocks`)."""
    if impl.softmax is None:
        return missing("softmax", p, "softmax")
    cmp, problems_found, failing = Comparison(), [], None

    def judge(y, start, q):
        block, found, known = Comparison(), [], inblocks.known_lse(p, start, q)
        for s, piece in inblocks.pieces(q):
            lse = None if known is None else known[s : s + piece.batch]
            here = _softmax_block(y[s : s + piece.batch], piece, cfg, block, start + s, lse)
            found = found or here  # the first piece's finding: one row named per block
        return found, block

    for _, q, y, (found, block) in inblocks.judged(p, lambda q: impl.softmax(q.x), judge):
        cmp.merge(block)
        problems_found += [f for f in found if f not in problems_found]
        if failing is None and (found or not block.passed):
            failing = (y, q.x)
    return measured(
        "softmax",
        p,
        cmp,
        message="; ".join([*problems_found, *inblocks.called_in_blocks(p)]),
        violated=bool(problems_found),
        diagnosis=_softmax_diagnosis(*failing, cfg) if failing is not None else None,
    )


def _softmax_block(y, p: problems.Problem, cfg: Config, cmp: Comparison, start: int, known=None) -> list[str]:
    """Rows ``start...`` of the forward, ``y``, compared into ``cmp``; what else is wrong.
    ``known``: where the rows' log-sum-exp is kept for the loss (a batch in blocks)."""
    if known is None:
        expected = functions.softmax_via_logsumexp(p.x.astype(float))  # in float64: the truth
    else:
        expected, known[:] = functions.softmax_and_logsumexp(p.x.astype(float))
    if cfg.atol is None and cfg.rtol is None:
        scaled, tol = _entry_model(y, expected, p.x, cfg)
    else:  # the user's tolerance, on the values as they are
        scales = softmax_scales(p.x, expected)
        scaled, tol = expected, tolerance(bounds.value_bound(scales, cfg.dtype, cfg.dim), cfg, scales.value)
    cmp.add(y, scaled, tol, inblocks.from_row(start, index_of(y.shape, p.vector)))
    sums = xp.sum(y, axis=-1)
    slack = bounds.rtol(cfg.dtype, cfg.dim)
    # A correct row may be scaled as a whole by the rounding of its log-sum-exp.
    common = bounds.common_error(bounds.size_of(p.x), cfg.dtype, cfg.dim)[:, 0]
    if not xp.all(xp.isfinite(y)):
        return []  # counted by the comparison
    if not xp.all(xp.abs(sums - 1) <= slack + common):
        b = int(xp.argmax(xp.abs(sums - 1)))
        return [f"rows sum to {float(sums[b]):.17g}, not 1" + ("" if p.vector else f" (row {start + b})")]
    if xp.any(y < 0) or xp.any(y > 1 + slack):
        return ["values outside [0, 1]"]
    return []


MEDIAN_OF = 4096  # values of a row a common factor is estimated from, at most


def _entry_model(y, expected, x, cfg: Config):
    """``(scaled, tolerance)``: each value judged relative to itself once its row's common
    factor is divided out. A correct softmax scales a whole row by the rounding of its sum
    (``n/2 eps`` taken in order: 6 % of every value in float32 at n = 10^6, which judged
    value by value would leave the check no power) or of its log-sum-exp; apart from that
    a value carries only the rounding of its own ``exp`` (:func:`bounds.entry_error`).
    The factor ``c`` of a row is the median of ``y / expected`` over its values well above
    underflow, which one wrong value cannot move; values are compared with
    ``c * expected``, and the factor itself is judged by the rows' sums
    (:func:`bounds.row_factor`). A row with fewer than three such values keeps ``c = 1``
    and the factor's allowance in every value."""
    size = bounds.size_of(x)
    stored = machine_eps(cfg.dtype) if is_low(cfg.dtype) else 0.0
    rel = bounds.entry_error(size, cfg.dtype, cfg.dim) + stored
    # Below the smallest normal number a value rounds to the spacing of the subnormal ones
    # (a float16 one of 3e-5 to 6e-8); the computation may flush its own to zero.
    floor = max(machine_eps(cfg.dtype) * numbers(cfg.dtype)[1], numbers(accumulating(cfg.dtype))[1])
    factor = _common_factor(y, expected, expected >= 16 * floor / rel)
    rel = rel + xp.where(xp.isnan(factor), bounds.row_factor(size, cfg.dtype, cfg.dim), 0.0)
    scaled = expected * xp.where(xp.isnan(factor), 1.0, factor)
    return scaled, Tolerance(rel * scaled + floor, stored)


def _common_factor(y, expected, usable):
    """Per row ``(N, 1)``: the median of ``y / expected`` over the ``usable`` values
    (at most :data:`MEDIAN_OF` of them, evenly spaced), NaN where fewer than three."""
    stride = max(1, expected.shape[-1] // MEDIAN_OF)
    with quietly():
        ratio = xp.asarray(y[..., ::stride], dtype=float) / expected[..., ::stride]
    ratio = xp.where(usable[..., ::stride] & xp.isfinite(ratio), ratio, xp.nan).reshape(-1, ratio.shape[-1])
    ratio.sort(axis=-1)  # NaN last
    count = xp.count_nonzero(~xp.isnan(ratio), axis=-1)
    rows = xp.arange(ratio.shape[0])
    low, high = ratio[rows, xp.maximum(count - 1, 0) // 2], ratio[rows, count // 2 - (count == 0)]
    median = xp.where(count >= 3, (low + high) / 2, xp.nan)
    return median.reshape(*expected.shape[:-1], 1)


def _softmax_diagnosis(y, x, cfg: Config) -> str | None:
    low = diagnose.computed_low(y, x, cfg.dtype) if is_low(cfg.dtype) else None
    return low or diagnose.softmax(y, x)


def cross_entropy(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """The loss against the truth in float64, and never negative (a large batch a block
    of rows at a time, each block's loss that of a batch of its own)."""
    if impl.cross_entropy is None:
        return missing("cross_entropy", p, "cross_entropy")
    cmp, message, failing = Comparison(), "", None

    def judge(loss, start, q):
        known = inblocks.known_lse(p, start, q)
        lse = known if known is not None and not xp.any(xp.isnan(known)) else None
        block = Comparison()
        return (*_loss_block(loss, q, cfg, block, start, lse), block)

    call = lambda q: xp.asarray(impl.cross_entropy(q.x, q.t))  # noqa: E731
    for start, q, loss, (rows, noise, atol, block) in inblocks.judged(p, call, judge):
        cmp.merge(block)
        passed = cmp.passed
        if not message and xp.all(xp.isfinite(loss)) and float(loss.min()) < -float(xp.max(atol)):
            message = "negative loss for non-negative targets"
        if failing is None and (message or not passed):
            failing = (loss, q)
        if start == 0 and passed and not message:
            alone = consistency.loss_alone(impl, q, cfg, rows, noise)
            if alone is not None:  # right on the batch, wrong on the rows its derivatives are taken from
                return alone
    message = "; ".join(filter(None, [message, *inblocks.called_in_blocks(p)]))
    result = measured("cross_entropy", p, cmp, message=message, violated=message.startswith("negative"))
    if failing is None:
        return result
    loss, q = failing
    return diagnosed([result], lambda: diagnose.cross_entropy(loss, q.x, q.t, cfg.reduction, q.vector))[0]


def _loss_block(loss, p: problems.Problem, cfg: Config, cmp: Comparison, start: int, lse=None):
    """Rows ``start...``'s loss compared into ``cmp`` (``lse``: their log-sum-exp, where
    the softmax's check left it); ``(row losses, their noise, atol)``."""
    reduction = "none" if p.vector else cfg.reduction
    rows, noise, mass = _row_truths(p, cfg, lse)
    # The rows' target mass stands in for their targets: what a mean counts is the rows carrying one.
    expected = functions.reduce(rows, mass[:, None], reduction, cfg.ignore_index is not None)
    # The loss's yardstick: its size plus one nat per unit of target mass, per row.
    unit = (xp.abs(rows) + mass) * row_weight(p, cfg)
    if reduction != "none":
        noise_total, unit = xp.sum(noise), xp.sum(unit)
    else:
        noise_total = noise
    atol = noise_total * row_weight(p, cfg)
    where = (lambda q: ()) if xp.ndim(expected) == 0 or p.vector else inblocks.from_row(start, lambda q: (int(q),))
    cmp.add(loss.reshape(xp.shape(expected)), expected, tolerance(atol, cfg, unit), where)
    return rows, noise, atol


def _row_truths(p: problems.Problem, cfg: Config, lse=None):
    """``(losses, noise, target mass)`` of each row in float64, a few rows at a time
    (:func:`smgrad.inblocks.pieces`)."""
    parts = []
    for s, piece in inblocks.pieces(p):
        x64, t64 = piece.x.astype(float), piece.t.astype(float)
        rows = functions.cross_entropy_via_logsumexp(
            x64, t64, "none", lse=None if lse is None else lse[s : s + piece.batch]
        )
        noise = bounds.value_bound(loss_scales(piece.x, piece.t, rows), cfg.dtype, cfg.dim)[:, 0]
        parts.append((rows, noise, xp.sum(xp.abs(t64), axis=-1)))
    return [xp.concatenate(part) for part in zip(*parts, strict=True)]


def row_independence(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """Rows are perturbed all at once in the derivative checks, which is sound only if
    each row's results depend on that row alone: change row 0, the others must not move."""
    if p.vector or p.batch < 2:
        return skipped("row_independence", p, "needs a batch of two or more rows")
    x, t, g = p.x, p.t, p.g
    calls = {
        "softmax": lambda X: impl.softmax(X),
        "softmax_backward": lambda X: impl.softmax_backward(X, g),
        "cross_entropy_grad": lambda X: impl.cross_entropy_grad(X, t),
    }
    calls = {name: f for name, f in calls.items() if getattr(impl, name) is not None}
    if not calls:
        return missing("row_independence", p, "softmax, softmax_backward or cross_entropy_grad")
    changed = x.copy()
    changed[0] = round_to(xp.roll(x[0], 1) + 1, cfg.dtype)  # numbers of the run's dtype
    r = bounds.rtol(cfg.dtype, p.dim)
    sizes = _rounding_sizes(p, cfg)
    cmp, mixing, raised = Comparison(power=False), [], []
    for name, f in calls.items():
        try:
            before, after = xp.asarray(f(x))[1:], xp.asarray(f(changed))[1:]
        except Exception:  # a function that raises fails its own check; nothing to learn here
            raised.append(name)
            continue
        same = (before == after) | (xp.isnan(before) & xp.isnan(after))  # NaN stayed NaN: unchanged
        before, after = xp.where(same, 0, before), xp.where(same, 0, after)
        finite = before[xp.isfinite(before)]
        largest = max(float(xp.max(xp.abs(finite))) if finite.size else 0.0, float(xp.max(sizes[name][1:])))
        scale = r * largest
        cmp.add(after, before, Tolerance(scale, r), lambda q, shape=before.shape: _shifted_row(q, shape))
        if not xp.allclose(after, before, rtol=r, atol=scale):
            mixing.append(name)
    if len(raised) == len(calls):
        return skipped("row_independence", p, "every function raised")
    return measured(
        "row_independence",
        p,
        cmp,
        message=f"changing row 0 changed other rows of {', '.join(mixing)}" if mixing else "",
        violated=bool(mixing),
        diagnosis="rows mixed across the batch: a sum or maximum over the wrong axis" if mixing else None,
    )


def _rounding_sizes(p: problems.Problem, cfg: Config) -> dict:
    """What each function's values round with, per entry: a gradient ``y sum(t) - t``
    that cancels to a small value still carries the rounding of ``y`` and ``t`` (a shift
    that depends on the batch moves it by that much; measured at dim 2, where a value of
    0.0026 moved by 3.7e-17), and ``J^T g`` that of ``y (|g| + sum|g| y)``."""
    y = functions.softmax(p.x.astype(float))
    return {
        "softmax": y,
        "softmax_backward": allowances.backward_weights(y, p.g),
        "cross_entropy_grad": row_weight(p, cfg) * allowances.gradient_weights(y, p.t),
    }


def _shifted_row(q: int, shape) -> tuple[int, ...]:
    b, i = xp.unravel_index(q, shape)
    return int(b) + 1, int(i)
