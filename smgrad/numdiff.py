"""Numerical derivatives: one directional-derivative rule per method, and the
Jacobian columns built from it.

Functions differentiated here are *row functions*: ``f`` maps an array of rows
``(N, n)`` to ``(N, m)``, each output row depending only on its input row (softmax,
a per-row loss, a contraction with a fixed cotangent). That lets one call evaluate
many perturbed inputs stacked as rows, and lets coordinate ``j`` be perturbed in every
row of a batch at once: a batch costs ``n`` perturbations, not ``B * n``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator

from smgrad import bounds
from smgrad.backend import ComplexWarning, eps, is_complex, xp

RowFunction = Callable[[object], object]


def evaluate(f: RowFunction, X):
    """``f`` on stacked rows ``X`` of shape ``(K, N, n)``, giving ``(K, N, m)``."""
    K, N, n = X.shape
    out = xp.asarray(f(X.reshape(K * N, n)))
    return out.reshape(K, N, -1)


class Directions:
    """Directions ``v`` ``(K, N, n)``: ``v[k, b]`` is the direction for row ``b``."""

    def __init__(self, x, v):
        self.x, self.v = x, v

    def shift(self, s):
        """``(x + s v, a)`` where ``a`` ``(K, N, 1)`` is the step really taken along ``v``.

        ``x + s v`` is rounded; the least-squares step along ``v`` is exact for a
        coordinate direction, so rounding of the perturbed logit never enters the result.
        An imaginary ``s`` is not rounded and is returned as it is.
        """
        X = self.x + s * self.v
        if is_complex(X):
            return X, s
        a = xp.sum((X - self.x) * self.v, axis=-1, keepdims=True) / xp.sum(self.v * self.v, axis=-1, keepdims=True)
        return X, a


class Coordinates(Directions):
    """The coordinate directions ``e_j`` for ``j`` in ``cols``, each in every row at once."""

    def __init__(self, x, cols):
        self.x, self.cols = x, cols

    def shift(self, s):
        K = self.cols.size
        s = xp.broadcast_to(s, (self.x.shape[0], 1))
        X = xp.repeat(self.x[None].astype(xp.result_type(self.x, s)), K, axis=0)
        k = xp.arange(K)
        X[k, :, self.cols] += s[:, 0]
        if is_complex(X):
            return X, s
        return X, (X[k, :, self.cols] - self.x[:, self.cols].T)[..., None]


def _central(f, d, h):
    Xp, hp = d.shift(h)
    Xm, hm = d.shift(-h)
    return (evaluate(f, Xp) - evaluate(f, Xm)) / (hp - hm)


def _forward(f, d, h):
    Xp, hp = d.shift(h)
    return (evaluate(f, Xp) - evaluate(f, d.x[None])) / hp


def _backward(f, d, h):
    Xm, hm = d.shift(-h)
    return (evaluate(f, d.x[None]) - evaluate(f, Xm)) / (-hm)


def _richardson(f, d, h):
    return (4 * _central(f, d, h / 2) - _central(f, d, h)) / 3


def _complex(f, d, h):
    X, _ = d.shift(1j * h)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComplexWarning)
        out = evaluate(f, X)
    if not is_complex(out):
        raise ComplexStepUnsafe(f"returned {out.dtype} for complex input, dropping the imaginary part")
    return out.imag / h


RULES = {
    "forward": _forward,
    "backward": _backward,
    "central": _central,
    "richardson": _richardson,
    "complex": _complex,
}


class ComplexStepUnsafe(Exception):
    """The function does not carry a complex input through analytically."""


def directional(f: RowFunction, directions: Directions, method: str, h):
    """Derivatives of ``f`` at rows ``x`` ``(N, n)`` along ``directions`` (K of them per row).

    ``h`` is the step, per row ``(N, 1)`` or a scalar. Returns ``(K, N, m)``.
    """
    h = xp.asarray(h, dtype=directions.x.dtype)
    return RULES[method](f, directions, h)


def chunk_size(N: int, n: int, m: int, itemsize: int, budget: int) -> int:
    """How many perturbations fit in ``budget`` bytes (inputs, outputs, temporaries).

    Chunks of a few MiB stay in cache and reuse freed memory, which is faster than
    one huge chunk even when memory allows it.
    """
    per_direction = 6 * itemsize * N * (n + m)
    return max(1, min(n, min(budget, 8 * 2**20) // per_direction))


def jacobian(f: RowFunction, x, method: str, h, chunk: int | None = None):
    """The whole numerical Jacobian ``(N, m, n)``, ``J[b, i, j] = d f_i(x_b) / d x_b[j]``,
    for sizes where it fits (the checks stream :func:`jacobian_columns` instead)."""
    columns = [D for _, D in jacobian_columns(f, x, method, h, chunk or x.shape[-1])]
    return xp.moveaxis(xp.concatenate(columns, axis=0), 0, -1)


def jacobian_columns(f: RowFunction, x, method: str, h, chunk: int) -> Iterator[tuple[object, object]]:
    """Yield ``(cols, D)`` with ``D[k, b, :] = d f(x_b) / d x_b[cols[k]]``, ``chunk``
    columns at a time, so only a few columns are ever held at once.
    """
    n = x.shape[-1]
    for start in range(0, n, chunk):
        cols = xp.arange(start, min(n, start + chunk))
        yield cols, directional(f, Coordinates(x, cols), method, h)


PROBED_TOGETHER = 2**20  # entries of the probes' perturbed rows evaluated in one call


def complex_step_fault(f: RowFunction, x, scales: bounds.Scales, probes=None) -> str | None:
    """Why the complex step cannot be trusted for ``f`` at ``x``, or None if it can.

    Complex step is exact only for functions that carry a complex input through
    analytically. A float cast, ``abs``, ``math.exp`` or a write into a real array breaks
    that, sometimes silently. So the complex-step derivative along a few coordinates is
    compared with the central difference; a disagreement beyond both error bounds means
    the function is not complex-safe here.
    """
    _N, n = x.shape
    if probes is None:
        # The first row's maximum (where a stabilising shift acts) and one other logit:
        # a function that is not complex-safe is not so anywhere, and each probe costs a
        # whole evaluation of the batch.
        probes = {int(xp.argmax(x[0])), n // 2}
    cols = sorted(probes)
    step = len(cols) if x.size * len(cols) <= PROBED_TOGETHER else 1  # a million classes: 2 x 16 MB complex

    def along(method, h):
        parts = [
            directional(f, Coordinates(x, xp.asarray(cols[i : i + step])), method, h) for i in range(0, len(cols), step)
        ]
        return xp.concatenate(parts)

    dtype = x.dtype
    h_complex = bounds.default_step("complex", scales, dtype, n)
    h_central = bounds.default_step("central", scales, dtype, n)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dc = along("complex", h_complex)
    except ComplexStepUnsafe as e:
        return str(e)
    except Exception as e:  # whatever it raises on complex input, real steps may still work
        cause = e.__cause__ or e  # what the implementation raised, not the guard's wrapper
        return f"raised {type(cause).__name__} for complex input: {cause}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dr = along("central", h_central)
    if not xp.all(xp.isfinite(dc)):
        return "gave non-finite values for complex input"
    allowed = bounds.bound("complex", h_complex, scales, dtype, n) + bounds.bound(
        "central", h_central, scales, dtype, n
    )
    # A function whose derivatives are larger than the scales assume (a buggy one, say)
    # still agrees with itself to a few digits; not being analytic costs all of them.
    allowed = allowed + math.sqrt(eps(dtype)) * xp.max(xp.abs(dc), axis=-1, keepdims=True)
    if not xp.all(xp.abs(dc - dr) <= allowed):
        return "complex-step and central-difference derivatives disagree (not complex-analytic)"
    return None
