"""Reference softmax, log-softmax and cross-entropy over the last axis.

Stable for every finite input: the logits are shifted by their row maximum before
``exp``, which changes nothing mathematically (softmax is shift invariant) and keeps
``exp`` in range. The shift uses the real part only, so the functions are
complex-step safe: a complex input gives the analytic continuation.
"""

from __future__ import annotations

from smgrad.backend import quietly, xp

REDUCTIONS = ("mean", "sum", "none")


def _shifted(x):
    m = xp.max(x.real, axis=-1, keepdims=True)
    # x - m of +-1e308 overflows to -inf; exp(-inf) = 0 is the right answer there.
    with quietly():
        return x - m


def softmax(x):
    """``y_i = exp(x_i) / sum_j exp(x_j)`` along the last axis of ``x``."""
    e = xp.exp(_shifted(x))
    return e / xp.sum(e, axis=-1, keepdims=True)


def log_softmax(x):
    """``log softmax(x)`` along the last axis, via log-sum-exp."""
    z = _shifted(x)
    return z - xp.log(xp.sum(xp.exp(z), axis=-1, keepdims=True))


def counted(t, ignore: bool = False):
    """How many rows a mean is over: every row of the dense targets ``t``, or with
    ``ignore`` (an ignore index) those that carry a target (an ignored row's is 0)."""
    if not ignore:
        return t.size // t.shape[-1]
    return max(1, int(xp.count_nonzero(xp.any(t != 0, axis=-1))))


def reduce(rows, t, reduction: str, ignore: bool = False):
    """Per-row losses ``rows`` reduced as ``reduction`` says (a 1-D problem's one row as it is)."""
    if reduction == "none" or t.ndim == 1:
        return rows
    return xp.sum(rows) / counted(t, ignore) if reduction == "mean" else xp.sum(rows)


def cross_entropy(x, t, reduction: str = "mean", ignore: bool = False):
    """``-sum_k t_k log softmax(x)_k`` per row, then the mean or sum over rows.

    ``t`` is dense, the shape of ``x``. ``reduction="none"`` keeps one loss per row
    (shape ``x.shape[:-1]``); for a 1-D ``x`` mean and sum both give that row's loss.
    A class with ``t_k = 0`` contributes nothing even where its ``log y_k`` is -inf.
    With ``ignore`` the mean is over the rows that carry a target (:func:`counted`).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")
    logy = log_softmax(x)
    with quietly():
        terms = xp.where(t != 0, t * logy, 0)
    return reduce(-xp.sum(terms, axis=-1), t, reduction, ignore)


def logsumexp(x):
    """``log sum_j exp(x_j)`` along the last axis: max shift, then numpy's pairwise sum."""
    m = xp.max(x, axis=-1)
    with quietly():
        return m + xp.log(xp.sum(xp.exp(x - m[..., None]), axis=-1))


def softmax_via_logsumexp(x):
    """Softmax written a second, independent way, ``exp(x - logsumexp(x))``, to
    cross-check :func:`softmax` on real inputs."""
    with quietly():
        return xp.exp(x - logsumexp(x)[..., None])


def softmax_and_logsumexp(x):
    """``(softmax(x), logsumexp(x))`` of real rows from one ``exp`` (the truths of a
    batch drawn in blocks, where a second ``exp`` of 2.7e8 float64 values costs seconds)."""
    m = xp.max(x, axis=-1, keepdims=True)
    with quietly():
        e = xp.exp(x - m)
        total = xp.sum(e, axis=-1, keepdims=True)
        return e / total, (m + xp.log(total))[..., 0]


def cross_entropy_via_logsumexp(x, t, reduction: str = "mean", ignore: bool = False, lse=None):
    """Cross-entropy written a second way, ``sum_k t_k (logsumexp(x) - x_k)``, to
    cross-check :func:`cross_entropy` on real inputs (``lse``: the rows' log-sum-exp,
    where it is known)."""
    with quietly():
        rows = xp.sum(t, axis=-1) * (logsumexp(x) if lse is None else lse) - xp.sum(t * x, axis=-1)
    return reduce(rows, t, reduction, ignore)
