"""How far a numerical derivative can be from the true one: truncation plus rounding.

For a row function ``f`` evaluated in a dtype with machine epsilon ``eps``, differentiated
along one coordinate with step ``h``::

    rounding of one evaluation   e     = kappa * eps * (F + X * D)  +  n/2 * eps * F
    real-step methods            bound = c * M * D * h**p  +  r * e / h
    complex step                 bound = (kappa + n/2) * eps * (F + D)  +  2 c_X * D  +  c * M * D * h**2
    a computed value             error = e + n/2 * eps * D

``F`` is the size of the row's values, ``X = max(1, max |x|)`` the size of its logits
(rounding of a logit of size X moves f by about eps * X * D), and ``D`` a bound on f's
derivatives in logit units. ``M = 1/4`` bounds the derivatives of the logistic function
up to order 5; along one coordinate every entry of softmax is a logistic function of that
logit (or a fraction of one minus it), so ``M * D`` bounds the derivatives used by the
Taylor remainders below. ``kappa = 8 + sqrt(n)`` allows for rounding in sums over ``n``
classes that does not add up coherently. Adding ``n`` terms one after another (a Python
loop, a reduction along a strided axis) can lose up to ``n/2 * eps`` of their sum when
the terms round alike (equal logits, label smoothing), where numpy's pairwise sum loses
``log2(n)``; perturbing one term changes every rounding after it, so that loss does not
cancel between two evaluations either. Every value and every evaluation is allowed that
worst case, so that a correct implementation is never failed for its summation order.
A softmax computed as ``exp(x - logsumexp(x))`` is also scaled as a whole by the rounding
of the log-sum-exp, ``c_X = kappa eps (X + log n + 1)`` (:func:`common_error`), which differs
from one evaluation to the next. The truncation constant ``c``, order ``p`` and
rounding factor ``r`` of each method are in :data:`RULES`.

The default step minimises the real-step bound: ``h = (r e / (p c M D))**(1 / (p + 1))``.
The complex step has no subtraction to lose digits in, so its step is simply tiny.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smgrad.backend import eps as machine_eps
from smgrad.backend import xp
from smgrad.precision import accumulating, is_low

M = 0.25


@dataclass(frozen=True)
class Rule:
    """Error constants of one differentiation method (see the module docstring)."""

    order: int
    truncation: float
    rounding: float


RULES = {
    "forward": Rule(order=1, truncation=1 / 2, rounding=2),
    "backward": Rule(order=1, truncation=1 / 2, rounding=2),
    "central": Rule(order=2, truncation=1 / 6, rounding=1),
    # (4 C(h/2) - C(h)) / 3 of central differences C: remainder <= h^4 / 288 * f^(5).
    "richardson": Rule(order=4, truncation=1 / 288, rounding=3),
    "complex": Rule(order=2, truncation=1 / 6, rounding=0),
}
METHODS = tuple(RULES)


@dataclass(frozen=True)
class Scales:
    """Per-row sizes of a row function at the point of differentiation, each ``(N, 1)``.

    ``value`` is F, ``slope`` is D and ``size`` is X of the module docstring.
    """

    value: object
    slope: object
    size: object

    @classmethod
    def of(cls, x, value, slope) -> Scales:
        """Scales for rows ``x`` of shape ``(N, n)``; value and slope broadcast to (N, 1)."""
        size = size_of(x)
        return cls(
            value=xp.broadcast_to(xp.asarray(value, dtype=float), size.shape),
            slope=xp.broadcast_to(xp.asarray(slope, dtype=float), size.shape),
            size=size,
        )


def kappa(n: int, dtype=None) -> float:
    """Rounding allowance, in units of eps, for a computation summing over n classes
    (for a low precision, in float32 in blocks or a tree: ``log2 n`` instead of ``sqrt n``)."""
    return 8.0 + (math.log2(max(n, 1)) if is_low(dtype) else math.sqrt(n))


def summing(n: int, dtype=None) -> float:
    """What adding n terms in order can lose, in units of eps of their sum (n u = n eps/2).
    A low-precision kernel sums in float32 in blocks or a tree: ``log2 n`` (allowing it
    ``n/2`` of float32 would allow, at n = 32000, 2e-3 of every value: a bfloat16 rounding,
    and every bug of that size)."""
    return math.log2(max(n, 1)) if is_low(dtype) else n / 2


def acc_eps(dtype) -> float:
    """Machine epsilon of what a correct implementation in ``dtype`` computes in."""
    return machine_eps(accumulating(dtype))


def rtol(dtype, n: int) -> float:
    """Relative tolerance: the rounding of the analytic value itself (for a low precision,
    its one rounding when stored, on top of a float32 computation)."""
    stored = machine_eps(dtype) if is_low(dtype) else 0.0
    return stored + (kappa(n, dtype) + summing(n, dtype)) * acc_eps(dtype)


def noise(scales: Scales, dtype, n: int):
    """Bound on the rounding error of one evaluation of f, per row: what a difference of
    two evaluations sees. A sum taken in order does not cancel between them (perturbing
    one term changes every rounding after it), so its n/2 eps of F is in here too."""
    eps = acc_eps(dtype)
    return kappa(n, dtype) * eps * (scales.value + scales.size * scales.slope) + summing(n, dtype) * eps * scales.value


def size_of(x):
    """``X = max(1, max |x|)`` per row, ``(N, 1)``: the size of a row's logits."""
    return xp.maximum(1.0, xp.max(xp.abs(x), axis=-1, keepdims=True)).astype(float)


def common_error(size, dtype, n: int):
    """Relative error a correct softmax may carry in all of a row's values at once, for
    logits of size X (:func:`size_of`). ``exp(x - logsumexp(x))`` rounds the log-sum-exp,
    of size up to X + log n, and ``x_i - logsumexp`` by as much again; a log-sum-exp
    reduced one class at a time (``np.logaddexp.reduce``) rounds once per class, errors
    that do not add up coherently (measured up to 45 eps X at n = 3000, where
    ``kappa(3000) = 63``): ``kappa(n) * eps * (X + log n + 1)``, scaling the whole row
    (its sum is 1 -+ that)."""
    return kappa(n, dtype) * acc_eps(dtype) * (size + math.log(n) + 1)


def entry_error(size, dtype, n: int):
    """Relative error a correct softmax may carry in one value beyond its row's common
    factor (the rounding of its sum or log-sum-exp, :func:`row_factor`): ``x_i - m`` (or
    ``x_i - logsumexp``, up to ``2X + log n``) rounded before its ``exp``, the ``exp`` and
    the division: ``kappa eps (2X + log n + 2)``, relative to the value itself."""
    return kappa(n, dtype) * acc_eps(dtype) * (2 * size + math.log(n) + 2)


def row_factor(size, dtype, n: int):
    """How far from 1 the factor a correct softmax scales a whole row by may be: its sum
    taken in order loses up to ``n/2 eps`` (:func:`summing`), its log-sum-exp
    :func:`common_error`. Every value of the row shares it, so a value is judged by
    :func:`entry_error` after it is divided out, and the factor against this."""
    return common_error(size, dtype, n) + summing(n, dtype) * acc_eps(dtype)


def value_bound(scales: Scales, dtype, n: int):
    """Bound on the error of one computed value of f against the exact one, per row,
    whatever order its sums are taken in (for a low precision, the float32 computation:
    its rounding when stored is :func:`rtol`'s)."""
    return noise(scales, dtype, n) + summing(n, dtype) * acc_eps(dtype) * scales.slope


def default_step(method: str, scales: Scales, dtype, n: int):
    """The step that minimises :func:`bound` for ``method``, per row, shape ``(N, 1)``."""
    rule = RULES[method]
    if method == "complex":
        return xp.full(scales.size.shape, machine_eps(dtype))
    slope = xp.maximum(scales.slope, machine_eps(dtype))  # a constant row: any step will do
    e = noise(scales, dtype, n)
    h = (rule.rounding * e / (rule.order * rule.truncation * M * slope)) ** (1 / (rule.order + 1))
    # Never beyond the scale on which the Taylor bound is meaningful for a logit; a row
    # that rounds to nothing (a constant: an ignored row's loss) takes that largest step.
    return xp.where(e > 0, xp.minimum(h, 0.5 * scales.size), 0.5 * scales.size)


def bound(method: str, h, scales: Scales, dtype, n: int):
    """Bound on |numerical - true derivative| at step ``h``, per row, shape ``(N, 1)``."""
    rule = RULES[method]
    h = xp.asarray(h, dtype=float)
    truncation = rule.truncation * M * scales.slope * h**rule.order
    if method == "complex":
        rounding = (kappa(n) + summing(n)) * machine_eps(dtype) * (scales.value + scales.slope)
        # Each evaluation's common scale error (and the analytic value's) moves a derivative
        # by that much of its size.
        return truncation + rounding + 2 * common_error(scales.size, dtype, n) * scales.slope
    return truncation + rule.rounding * noise(scales, dtype, n) / h
