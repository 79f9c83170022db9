"""What the allowances of every derivative share, entry by entry (:class:`Entries`): ``K``,
the step, the complex step's shift term (measured, :meth:`Entries.measure_shift`) and the
two sides of a comparison. The model is in :mod:`smgrad.allowances`."""

from __future__ import annotations

from smgrad import bounds, numdiff
from smgrad.backend import eps, generator, quietly, tiny, xp
from smgrad.precision import ACCUMULATE, is_low

SHIFT = 4.0  # eps y_i, where an implementation's shift is seen to take up the imaginary part
WHOLE_SHIFT_PROBE = 2 * 10**5  # up to this many entries (B n^2) the shift is probed on all of J
REFERENCE = "reference"  # the seed's formulas in float64: rounded as a float64 value is


def multiplier(size, n: int, dtype=float):
    """``K`` per row ``(N, 1)``, in units of eps, for logits of size ``size`` (N, 1)
    (for a low precision, of the float32 computation, in units of float32's eps)."""
    summed = 2 * bounds.summing(n, dtype)
    return bounds.kappa(n, dtype) + summed + bounds.common_error(size, dtype, n) / bounds.acc_eps(dtype)


class Entries:
    """What the allowances of one derivative, entry by entry, share: ``K``, the step, the
    shift term (kept only where it is measured), and the two sides of a comparison.
    A subclass says what weighs on entry ``[k, b, i]`` of column ``cols[k]``
    (:meth:`_weight`), what a shift weighs on it (:meth:`_shifted`) and its exact value
    (:meth:`_exact`), each ``(K, N, m)``."""

    def __init__(self, x, dtype, diff_dtype, h):
        self.dtype, self.diff_dtype, self.x = dtype, diff_dtype, x.astype(float, copy=False)
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
