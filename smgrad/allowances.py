"""Per-entry allowances for the softmax Jacobian and backward: each entry is allowed what
enters that entry, not what its row's largest value could carry.

Every derivative of ``y_i``, of any order and along any logit, is ``y_i`` times a bounded
function of ``y``; so the rounding of entry ``(i, j)`` of the Jacobian, computed or
differentiated, scales with ``y_i``. With ``w_ij = y_i (y_j + delta_ij)`` (at least
``|J_ij|``, and on the diagonal what ``y_i - y_i**2`` loses to cancellation)::

    the user's value             eps   * K * w_ij                          + 2 tiny
    complex-step derivative      eps_d * (K * w_ij + SHIFT * y_i)          + 4 tiny_d / h

``K = kappa + n + kappa (X + log n + 1)`` in units of eps: rounding in sums over ``n``
classes (a sum taken in order loses ``n/2`` eps of itself and scales the whole row, twice
that through a quotient) and the scaling of a whole row by a rounded log-sum-exp (``c_X``
of :func:`smgrad.bounds.common_error`). ``SHIFT * y_i``: a stabilising shift that takes up
the imaginary part (the maximum of a complex batch shifts every logit of every row by
``ih``, a mean shifts by ``ih / n``) leaves ``Im y_i`` as the difference of two terms of
size ``h y_i``: measured up to 2.2 eps y_i. An implementation that does not do that needs
no such allowance, and would hide a wrong small entry behind it: :meth:`Jacobian.shifts`
measures it (:meth:`Jacobian.measure_shift`), on every column where that is cheap.
``tiny / h``: an imaginary part ``h J_ij`` below the smallest normal number
loses its digits. ``eps_d`` is the precision differentiated in, ``eps`` the user's
dtype's: a float32 implementation that accepts float64 is differentiated in float64.

The backward ``J^T g`` sums entries ``(i, j)`` weighted by ``|g_i|``, so its allowance is
the same with ``w_ij`` summed: ``G_j = y_j (|g_j| + sum_i |g_i| y_i)``, and ``SHIFT``
times ``sum_i |g_i| y_i``.

Real-step methods: the k-th derivative of ``y_i`` along any logit is at most ``y_i`` for
k <= 5 (``|sigma^(k)| <= min(sigma, 1 - sigma)``; along another logit ``y_i`` is
``y_i / (1 - y_j)`` times ``1 - sigma``), so the bound of :mod:`smgrad.bounds` holds entry
by entry with ``F = y_i`` and ``D = 4 e^{2h} y_i`` (``M D`` at least the derivatives
within the step). The backward's real-step side stays that of the whole contraction.
"""

from __future__ import annotations

from smgrad import analytic, bounds, functions, numdiff
from smgrad.backend import eps, generator, quietly, tiny, xp
from smgrad.precision import ACCUMULATE, is_low

SHIFT = 4.0  # eps y_i, where an implementation's shift is seen to take up the imaginary part
SAVED = 2.0  # roundings of eps y_i in a low-precision Jacobian entry: y stored, then the result
WHOLE_SHIFT_PROBE = 2 * 10**5  # up to this many entries (B n^2) the shift is probed on all of J


def multiplier(size, n: int, dtype=float):
    """``K`` per row ``(N, 1)``, in units of eps, for logits of size ``size`` (N, 1)
    (for a low precision, of the float32 computation, in units of float32's eps)."""
    summed = 2 * bounds.summing(n, dtype)
    return bounds.kappa(n, dtype) + summed + bounds.common_error(size, dtype, n) / bounds.acc_eps(dtype)


def weights(y, cols):
    """``w[k, b, i] = y_bi (y_bj + delta_ij)`` for ``j = cols[k]``: ``(K, N, n)``."""
    w = y[None] * y[:, cols].T[:, :, None]
    w[xp.arange(cols.size), :, cols] += y[:, cols].T
    return w


def backward_weights(y, g):
    """``G_j = y_j (|g_j| + sum_i |g_i| y_i)`` per row ``(N, n)``: what entry ``j`` of
    ``J^T g`` rounds with, in units of ``eps K``."""
    g = xp.abs(g.astype(float))
    return y * (g + xp.sum(g * y, axis=-1, keepdims=True))


def gradient_weights(y, t):
    """``u_j = |t_j| + y_j sum|t|`` per row ``(N, n)``: what entry ``j`` of the loss's
    gradient ``y sum(t) - t`` rounds with, in units of ``eps K``."""
    t = xp.abs(t.astype(float))
    return t + y * xp.sum(t, axis=-1, keepdims=True)


REFERENCE = "reference"  # the seed's formulas in float64: rounded as a float64 value is


class _Entries:
    """What the allowances of one derivative, entry by entry, share: ``K``, the step, the
    shift term (kept only where it is measured), and the two sides of a comparison.
    A subclass says what weighs on entry ``[k, b, i]`` of column ``cols[k]``
    (:meth:`_weight`), what a shift weighs on it (:meth:`_shifted`) and its exact value
    (:meth:`_exact`), each ``(K, N, m)``."""

    def __init__(self, x, dtype, diff_dtype, h):
        self.dtype, self.diff_dtype, self.x = dtype, diff_dtype, x.astype(float)
        self.K = multiplier(bounds.size_of(x), x.shape[-1])  # (N, 1)
        self.K_low = multiplier(bounds.size_of(x), x.shape[-1], dtype) if is_low(dtype) else None
        self.h = xp.asarray(h, dtype=float)
        self.shift = SHIFT
        self.real = None  # a real-step method's allowance of the numerical side, (N, m) or (N, 1)
        self._kept = None  # (cols, their weights): the last block's

    def shifts(self, f, xd) -> None:
        """Measure the allowance for a shift that takes up the imaginary part (module
        docstring) where the pass's own columns are not looked at whole first: on every
        column where ``B n^2 <= WHOLE_SHIFT_PROBE``, else on the batch's largest logit's
        column, every row's maxima (ties too), the first, row 0's smallest and the middle
        one, and random ones up to that many entries, in one call (a maximum over the
        whole stack shifts every copy by the ih of the copy that perturbs it, and the
        digits lost vary from entry to entry)."""
        x = xd.real.astype(float)
        n = x.shape[-1]
        spare = WHOLE_SHIFT_PROBE // x.size
        if spare >= n:
            cols = xp.arange(n)
        else:
            tied = xp.nonzero(xp.any(x == xp.max(x, axis=-1, keepdims=True), axis=0))[0][:8]
            some = generator(0, 29).permutation(n)[:spare]
            special = [int(xp.argmax(x)) % n, 0, int(xp.argmin(x[0])), n // 2, *tied.tolist()]
            cols = xp.unique(xp.asarray([*special, *some.tolist()]))
        try:
            with quietly():
                D = numdiff.directional(f, numdiff.Coordinates(xd, cols), "complex", self.h)
        except Exception:  # not complex-safe after all: the method's own check says so
            return
        self.measure_shift(x, [(cols, D)])

    def measure_shift(self, x, columns) -> None:
        """Keep :data:`SHIFT` only if the complex-step columns ``(cols, D)`` at rows ``x``
        show it: an entry beyond its allowance without it by as much again (a lost small
        entry, even one rounded to exactly 0) or by ``eps / 16`` of what a shift weighs on
        it (the cancellation, measured up to 2.2 eps y_i, need not be at its worst in
        every entry), against the seed's formulas. Otherwise (the function itself is
        wrong, say) it stays. Where it is cheap the caller passes every column: the
        digits lost vary from entry to entry."""
        e, floor = eps(self.diff_dtype), 4 * tiny(self.diff_dtype) / self.h[None]
        x = self.x if xp.array_equal(x, self.x) else x  # the exact values already made, where they are these
        for cols, D in columns:
            with quietly():
                allowed = e * self.K * self._weights(cols)
                unit = e * self._shifted(cols) / 16
                beyond = xp.abs(D - self._exact(x, cols)) - allowed - floor > xp.minimum(allowed, unit)
            if not xp.all(xp.isfinite(D)) or xp.any(beyond):
                return
        self.shift = 0.0

    def _weights(self, cols):
        """:meth:`_weight` of ``cols``, kept for the same ``cols`` asked again: the shift is
        measured on a block of columns, then the same block is compared."""
        if self._kept is None or self._kept[0] is not cols:
            self._kept = (cols, self._weight(cols))
        return self._kept[1]

    def columns(self, cols, numerical=None):
        """Allowance ``(K, N, m)`` of entry ``[k, b, i]``, the derivative of output ``i``
        of row ``b`` along ``cols[k]`` (a real-step method's numerical side is its own:
        ``numerical`` is for the reference only)."""
        stored = None if self.K_low is None else self._stored(cols)
        return self._side(
            self._weights(cols), self._shifted(cols), 1.0, self.K, self.h, numerical, self._curved(cols), stored
        )

    def _stored(self, cols):
        """What a low-precision value of entry ``[k, b, i]`` rounds with when stored: its
        own size (a subclass may say more)."""
        return xp.abs(self._exact(self.x, cols))

    def _curved(self, cols):
        """A bound on the entries' third derivatives along their column (the complex
        step's truncation): what a shift weighs, unless a subclass says otherwise."""
        return self._shifted(cols)

    def _user(self, weight, mass, K, stored, reference: bool = False):
        """The user's rounding: ``eps K`` of the weights; for a low precision, ``eps``
        of float32 and its ``K`` (:func:`multiplier`) plus one rounding of ``stored`` (what
        a correct kernel rounds to the low dtype) and the low dtype's spacing below its
        smallest normal number, in each value the entry is made of (``mass``); with
        ``reference``, the seed's float64 rounding besides, in the same passes."""
        e64, t64 = (eps(float), tiny(float)) if reference else (0.0, 0.0)
        if self.K_low is None:
            return (eps(self.dtype) + e64) * K * weight + 2 * (tiny(self.dtype) + t64) * mass
        acc, low = eps(ACCUMULATE), eps(self.dtype)
        K_low = self.K_low.reshape(xp.shape(K))  # (N, 1), or (1, N) for a backward
        out = low * stored + acc * K_low * weight + 2 * (tiny(ACCUMULATE) + low * tiny(self.dtype)) * mass
        return out + e64 * K * weight + 2 * t64 * mass if reference else out

    def _side(self, weight, shifted, mass, K, h, numerical, curved=None, stored=None):
        """The user's rounding plus the other side's, for summed weights ``weight``
        (``curved`` bounds the third derivatives, ``shifted`` where not given; ``stored``
        what a low-precision value rounds with when stored)."""
        out = self._user(weight, mass, K, stored, reference=numerical is REFERENCE)
        if numerical is REFERENCE:
            return out
        if numerical is not None:
            return out + numerical
        if self.real is not None:
            return out + self.real
        d = self.diff_dtype
        rounding = eps(d) * (K * weight + self.shift * shifted) + 4 * tiny(d) / h * mass
        with quietly():  # the Taylor remainder, as for a real step (a step of 1e300 has no power)
            curved = shifted if curved is None else curved
            truncation = bounds.RULES["complex"].truncation * xp.exp(2 * h) * h**2 * curved
            truncation = xp.where(xp.isnan(truncation), xp.inf, truncation)
        return out + rounding + truncation


class Jacobian(_Entries):
    """Allowances for the softmax Jacobian of rows ``x`` with values ``y`` (float64, the
    exact softmax) and its products, for a user's dtype ``dtype``, differentiated with
    ``method`` and step ``h`` (N, 1) in ``diff_dtype``; ``scale`` (N, 1) multiplies the
    whole Jacobian (the cross-entropy Hessian is ``sum(t)`` times it).

    ``numerical`` says what the user's value is compared with: None for the complex-step
    derivative, :data:`REFERENCE` for the seed's formulas, else the row bound (N, 1) of
    a real-step method, which is used as it is. A real-step method's own entries are
    bounded with ``F = y_i`` unless ``real``, a row bound (N, 1), is given: a function
    whose values are not ``y`` (the loss gradient ``y sum(t) - t``) rounds as a whole."""

    def __init__(self, x, y, dtype, diff_dtype, method: str, h, scale=None, real=None):
        super().__init__(x, dtype, diff_dtype, h)
        self.y = y
        self.signed = None if scale is None else xp.asarray(scale, dtype=float)
        self.scale = None if scale is None else xp.abs(self.signed)
        if real is not None:
            self.real = real[None]
        elif method != "complex":  # per (b, i): the same for every column j
            entries = bounds.Scales(value=y, slope=4 * xp.exp(2 * self.h) * y, size=bounds.size_of(x))
            self.real = bounds.bound(method, self.h, entries, diff_dtype, x.shape[-1])

    def _weight(self, cols):
        w = weights(self.y, cols)
        return w if self.scale is None else w * self.scale[None]

    def _shifted(self, cols):
        return self.y[None] if self.scale is None else (self.y * self.scale)[None]

    def _stored(self, cols):
        """The softmax a backward is given was stored in the low dtype (autograd saves
        the forward's output): each ``y`` carries a rounding, as ``w_ij`` weighs it."""
        return SAVED * self._weights(cols)

    def _exact(self, x, cols):
        exact = analytic.jacobian_columns(self.y if x is self.x else functions.softmax(x), cols)
        return exact if self.signed is None else exact * self.signed[None]

    def backward(self, g, cols, numerical=None):
        """Allowance ``(K, N)`` of ``(J^T g)[b, cols[k]]`` for cotangents ``g`` (N, n)
        (a real-step ``numerical`` row bound is that of the whole contraction)."""
        g = xp.abs(g.astype(float))
        weighted = xp.sum(g * self.y, axis=-1)  # (N,)
        G = (self.y[:, cols] * (g[:, cols] + weighted[:, None])).T  # (K, N)
        if numerical is not None and numerical is not REFERENCE:
            numerical = numerical[:, 0][None]
        mass = xp.sum(g, axis=-1)[None]
        K, h = self.K[:, 0][None], self.h[:, 0][None]
        return self._side(G, weighted[None], mass, K, h, numerical, stored=SAVED * G)

    def along(self, v):
        """The user's rounding in ``(J v)[k, b, i]`` for directions ``v`` (K, N, n):
        ``sum_j w_ij |v_kj|`` in units of ``eps K`` (the numerical side is the caller's)."""
        # In place: each temporary is a (K, N, n) array, 32 MB at n = 10^6; the same products
        # as y * (sum + a) * (eps K), bit for bit.
        w = xp.abs(v, dtype=float)
        w += xp.sum(self.y[None] * w, axis=-1, keepdims=True)
        w *= self.y[None]
        w *= eps(self.dtype) * self.K[None]
        return w

    def backward_along(self, u, v):
        """The user's rounding in ``<J^T u, v_k>`` per row ``(K, N)``: ``sum_j G_j |v_kj|``."""
        G = backward_weights(self.y, u)
        return eps(self.dtype) * self.K[:, 0][None] * xp.sum(G[None] * xp.abs(v.astype(float)), axis=-1)


class Gradient(_Entries):
    """Allowances for the cross-entropy gradient ``y sum(t) - t`` of rows ``x`` (``y``
    float64, the exact softmax; targets ``t``), entry ``j`` of a row against the
    derivative of the row's loss along ``x_j``: a loss ``-sum_i t_i log y_i`` carries in
    that derivative the rounding of ``d log y_i / d x_j = delta_ij - y_j`` weighted by
    ``|t_i|``, so the entry weighs ``u_j = |t_j| + y_j sum|t|``, and a shift that takes up
    the imaginary part weighs ``sum|t|`` on each. The user's value ``y_j sum(t) - t_j``
    rounds with the same weight, and the third derivative along ``x_j`` is at most
    ``y_j sum|t|`` (the complex step's truncation). ``D`` and the allowances are ``(K, N, 1)``, the loss's
    one output per row. A real step's rounding is of the loss as a whole: ``real`` is its
    row bound ``(N, 1)``."""

    def __init__(self, x, y, t, dtype, diff_dtype, h, real=None):
        super().__init__(x, dtype, diff_dtype, h)
        self.y, self.t = y, t.astype(float)
        self.total = xp.sum(xp.abs(self.t), axis=-1, keepdims=True)  # (N, 1)
        self.u = gradient_weights(y, self.t)  # (N, n)
        self.real = real

    def _weight(self, cols):
        return self.u[:, cols].T[:, :, None]

    def _shifted(self, cols):
        return self.total[None]

    def _curved(self, cols):  # sum(t) d^2 y_j / dx_j^2: at most sum|t| y_j
        return (self.y[:, cols] * self.total).T[:, :, None]

    def _exact(self, x, cols):
        if x is not self.x:
            return analytic.cross_entropy_grad(x, self.t, "none")[:, cols].T[:, :, None]
        # The seed's y sum(t) - t in the columns asked for, entry by entry as it computes them.
        return (self.y[:, cols] * xp.sum(self.t, axis=-1, keepdims=True) - self.t[:, cols]).T[:, :, None]

    def _stored(self, cols):
        """A low-precision gradient rounds once when stored, and may be computed from
        the forward's log-probabilities as autograd saves them, stored too: ``log y_j``
        carries ``eps |log y_j|``, so ``y_j sum(t)`` carries ``eps y_j |log y_j| sum|t|``.
        Not ``eps y_j``: that is ``y`` rounded before ``t`` is subtracted, which loses
        every digit of a confident row's ``y - 1`` (at most ``1 - y`` here: ``y |log y|``)."""
        y = self.y[:, cols].T[:, :, None]
        with quietly():
            saved = xp.where(y > 0, y * xp.abs(xp.log(y)), 0.0) * self.total[None]
        return xp.abs(self._exact(self.x, cols)) + saved

    def along(self, v):
        """The user's rounding in ``<g, v_k>`` per row ``(K, N)`` for directions ``v``
        (K, N, n): ``sum_j u_j |v_kj|`` in units of ``eps K`` (the numerical side is the
        caller's)."""
        return eps(self.dtype) * self.K[:, 0][None] * xp.sum(self.u[None] * xp.abs(v.astype(float)), axis=-1)
