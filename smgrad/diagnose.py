"""Why a check probably failed: the common hand-written mistakes, recognised from how
the implementation's values relate to the right ones.

Each mistake is a formula (the diagonal-only Jacobian, softmax over the batch axis, ...)
evaluated on the same input; the implementation's values matching one of them to
``sqrt(eps)`` names the mistake. Failing that, values that are a constant multiple of the
right ones name the factor (the batch size: a missing mean; -1: a sign). These are
hints for a person, never a verdict: verdicts come from :mod:`smgrad.compare`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from smgrad import analytic, functions
from smgrad.backend import eps, quietly, xp

Formula = Callable[[], object]


def _match(values, candidate, dtype) -> bool:
    values, candidate = xp.asarray(values, dtype=float), xp.asarray(candidate, dtype=float)
    if values.shape != candidate.shape or not xp.all(xp.isfinite(values)):
        return False
    with quietly():
        scale = float(xp.max(xp.abs(candidate))) if candidate.size else 0.0
        return bool(xp.all(xp.abs(values - candidate) <= math.sqrt(eps(dtype)) * max(scale, 1e-300)))


def _factor(values, right, batch: int, dtype, dim: int | None = None) -> str | None:
    """``values = c * right`` for a constant ``c`` other than 1, entry by entry: say which
    ``c``. Named when it is a known cause (B, 1/B, -1, 2, ...); described as a plain factor
    only where there are several entries that all fit it (one scalar is a multiple of any
    other, which says nothing) and it is told apart from 1; otherwise no diagnosis."""
    a, r = xp.asarray(values, dtype=float).ravel(), xp.asarray(right, dtype=float).ravel()
    if not (xp.all(xp.isfinite(a)) and xp.all(xp.isfinite(r))):
        return None
    rr = float(r @ r)
    if rr == 0 or not xp.any(a):
        return None
    c = float(a @ r) / rr
    root = math.sqrt(eps(dtype))
    if abs(c - 1) <= root or not _fits(a, c * r, root, eps(dtype)):
        return None
    for value, text in _named_factors(batch, dim):
        if abs(c - value) <= root * max(1.0, abs(c)):
            return text
    if xp.count_nonzero(r) < 2:
        return None
    return f"off by a constant factor: every entry is {c:.7g} times the right value"


def _fits(a, expected, relative: float, floor: float) -> bool:
    """Every entry of ``a`` is ``expected`` to ``relative`` of itself (and a floor of
    ``floor`` times the largest, for the entries that round to nothing)."""
    scale = float(xp.max(xp.abs(expected)))
    return bool(xp.all(xp.abs(a - expected) <= relative * xp.abs(expected) + 8 * floor * scale))


def _named_factors(batch: int, dim: int | None) -> list[tuple[float, str]]:
    named = []
    if batch > 1:  # first: a factor of B is far the likeliest, even when B is 2
        named += [
            (batch, f"missing the mean over the batch: every entry is B = {batch} times too large"),
            (1 / batch, f"divided by the batch size B = {batch} once too often (a mean where the reduction is sum)"),
            (-batch, f"wrong sign and missing the mean over the batch (factor -{batch})"),
        ]
    named += [
        (-1.0, "wrong sign: every entry is the negative of the right value"),
        (2.0, "a factor of 2 too large"),
        (0.5, "a factor of 2 too small"),
        (1 / math.log(2), "off by 1/ln 2: log base 2 where the natural log is meant"),
    ]
    if dim and dim > 2 and batch == 1:
        named.append(
            (1 / dim, f"divided by n = {dim}, the number of classes, where the mean over one sample divides by 1")
        )
    if dim and batch > 1 and dim != batch:
        named.append((batch / dim, f"divided by n = {dim} where the mean divides by B = {batch}"))
    return named


def _first(values, candidates: list[tuple[str, Formula]], dtype, right=None) -> str | None:
    """The first candidate the values match, among those the right values do not (a
    wrong formula that gives the right values here explains nothing)."""
    for text, formula in candidates:
        with quietly():
            candidate = formula()
        if _match(values, candidate, dtype) and (right is None or not _match(right, candidate, dtype)):
            return text
    return None


def _wrong_axis(x):
    """Softmax normalised over the batch axis, the classic axis mix-up."""
    return functions.softmax(xp.swapaxes(x, 0, -1)).swapaxes(0, -1) if x.shape[0] > 1 else None


def softmax(values, x) -> str | None:
    """For a wrong forward softmax ``(B, n)``."""
    candidates = [
        ("normalised over the wrong axis (the batch axis): rows are mixed across the batch", lambda: _wrong_axis(x)),
        ("log-softmax returned instead of softmax", lambda: functions.log_softmax(x)),
        ("exp(x) not divided by its sum: the rows are not normalised", lambda: xp.exp(x)),
        ("softmax of -x: a sign error in the logits", lambda: functions.softmax(-x)),
    ]
    return _first(values, candidates, x.dtype) or _factor(values, functions.softmax(x), 1, x.dtype)


def cross_entropy(value, x, t, reduction: str, vector: bool) -> str | None:
    """For a wrong loss (a scalar)."""
    right = functions.cross_entropy(x, t, "none" if vector else reduction)
    batch = 1 if vector else x.shape[0]
    text = _factor(value, right, batch, x.dtype)
    if text and reduction == "mean" and "missing the mean" in text:
        return "summed over the batch where the reduction is mean (if the sum is meant, set the reduction to sum)"
    if text and reduction == "sum" and "once too often" in text:
        return "averaged over the batch where the reduction is sum (if the mean is meant, set the reduction to mean)"
    return text


def row_loss(values, right, dim: int, dtype) -> str | None:
    """For the losses of rows called one at a time (a batch of one each), where the
    batch's loss is right."""
    text = _factor(values, right, 1, dtype, dim)
    if text and text.startswith("divided by n"):
        return f"{text} (a squeeze of a batch of one, then .shape[0])"
    return text


def gradient_alone(values, x, t) -> str | None:
    """For the gradient of one row called alone (a batch of one), where the batch's
    gradient is right."""
    n = x.shape[-1]
    right = analytic.cross_entropy_grad(x, t, "none")  # a batch of one: mean and sum alike
    if _match(values, right / n, x.dtype) and n > 1:
        return f"divided by n = {n}, not by the batch size B: right only on a batch of B = n rows"
    return _factor(values, right, 1, x.dtype)


# Candidate Jacobians are formed whole: beyond this many entries, no diagnosis is tried.
JACOBIAN_ENTRIES = 4 * 10**6


def jacobian(values, x) -> str | None:
    """For a wrong softmax Jacobian ``(B, n, n)``."""
    if values.size > JACOBIAN_ENTRIES:
        return None
    y = functions.softmax(x)
    eye = xp.eye(x.shape[-1])
    candidates = [
        (
            "only the diagonal of J is right: the element-wise y(1-y) was used, the off-diagonal -y_i*y_j is missing",
            lambda: eye * (y * (1 - y))[..., None, :],
        ),
        (
            "the off-diagonal entries have the wrong sign (+y_i*y_j)",
            lambda: eye * (y - 2 * y * y)[..., None, :] + y[..., :, None] * y[..., None, :],
        ),
        ("-y y^T only: the diag(y) term is missing", lambda: -y[..., :, None] * y[..., None, :]),
        (
            "softmax over the wrong axis (the batch axis): rows are mixed across the batch",
            lambda: _jacobian_of(_wrong_axis(x)),
        ),
    ]
    right = y[..., :, None] * (eye - y[..., None, :])
    return _first(values, candidates, x.dtype, right) or _factor(values, right, 1, x.dtype)


def computed_low(values, x, dtype) -> str | None:
    """A low-precision softmax computed in that dtype: ``x - max`` rounds there, which
    costs ``|x - max|`` units in the last place of ``exp`` (and the sum and quotient a few
    more): every entry within that, some beyond one rounding."""
    y = functions.softmax(x.astype(float))
    error = xp.abs(xp.asarray(values, dtype=float) - y)
    e = eps(dtype)
    room = e * (xp.abs(x - xp.max(x, axis=-1, keepdims=True)) + 4) * y + e * 2.0**-14
    if not xp.all(error <= room) or not xp.any(error > e * y):
        return None
    return (
        f"computed in {dtype}: x - max rounds there, and costs |x - max| units in y's last place; "
        "compute in float32, round once"
    )


def _jacobian_of(y):
    if y is None:
        return None
    return y[..., :, None] * (xp.eye(y.shape[-1]) - y[..., None, :])


def backward(values, x, g) -> str | None:
    """For a wrong softmax backward ``J^T g`` ``(B, n)``."""
    y = functions.softmax(x)
    yw = _wrong_axis(x)
    candidates = [
        ("only the diagonal of J was used: g * y(1-y), the element-wise derivative", lambda: g * y * (1 - y)),
        ("the <g, y> term is missing: y * g", lambda: y * g),
        ("the upstream gradient was passed through unchanged (J taken as the identity)", lambda: g),
        (
            "the off-diagonal of J has the wrong sign",
            lambda: (y - 2 * y * y) * g + y * xp.sum(g * y, -1, keepdims=True),
        ),
        (
            "softmax over the wrong axis (the batch axis): rows are mixed across the batch",
            lambda: None if yw is None else yw * (g - xp.sum(g * yw, -1, keepdims=True)),
        ),
    ]
    right = y * (g - xp.sum(g * y, axis=-1, keepdims=True))
    return _first(values, candidates, x.dtype, right) or _factor(values, right, 1, x.dtype)


def cross_entropy_grad(values, x, t, reduction: str, vector: bool, kept=None, upstream=None) -> str | None:
    """For a wrong ``dL/dx`` ``(B, n)``; ``kept``: the rows a mean is over where some
    carry an ignore index; ``upstream``: each row's upstream gradient (reduction none,
    folded into ``t``)."""
    y = functions.softmax(x)
    batch = 1 if vector else x.shape[0]
    w = 1 / (kept or batch) if reduction == "mean" else 1.0
    total = xp.sum(t, axis=-1, keepdims=True)
    yw = _wrong_axis(x)
    candidates = [
        (
            "ignores the non-target classes: only the target entries (y_k - t_k) are set",
            lambda: xp.where(t != 0, y * total - t, 0) * w,
        ),
        (
            "uses y - t, which needs targets summing to 1; the general form is y*sum(t) - t",
            lambda: (y - t) * w if not xp.allclose(total, 1) else None,
        ),
        (
            "built from argmax(t), a one-hot of the largest target: right only for one-hot targets",
            lambda: (y * total - _one_hot(xp.argmax(t, axis=-1), t.shape) * total) * w if _soft(t) else None,
        ),
        ("the gradient with respect to y (-t/y), not the logits", lambda: xp.where(t != 0, -t / y, 0) * w),
        (
            "softmax over the wrong axis (the batch axis): rows are mixed across the batch",
            lambda: None if yw is None else (yw * total - t) * w,
        ),
    ]
    right = (y * total - t) * w
    if upstream is not None and batch > 1:
        u = xp.asarray(upstream, dtype=float)[:, None]
        candidates += [
            (
                "the upstream gradient taken as one number for the batch (its first row's), not one per row",
                lambda: right * u[0] / u,
            ),
            ("the upstream gradient ignored: each row's gradient as if it were 1", lambda: right / u),
        ]
    if kept and kept != batch and reduction == "mean":
        candidates.append(
            (
                f"ignored rows counted in the mean: divided by all B = {batch} rows, not the {kept} not ignored",
                lambda: right * kept / batch,
            )
        )
    return _first(values, candidates, x.dtype, right) or _factor(values, right, batch, x.dtype, x.shape[-1])


def _soft(t) -> bool:
    """Targets that are not one-hot (soft, smoothed)."""
    return bool(xp.any((t != 0) & (t != xp.max(t, axis=-1, keepdims=True))))


def _one_hot(labels, shape):
    out = xp.zeros(shape)
    out[xp.arange(shape[0]), labels] = 1.0
    return out


OVERFLOW = "fails only with large logits: exp overflows; subtract the row maximum before exp"
MUTATION = "mutation of the input: the function changes the arrays it is given"
