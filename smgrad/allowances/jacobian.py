"""Allowances for the softmax Jacobian and its products (:class:`Jacobian`), entry by
entry: ``w_ij = y_i (y_j + delta_ij)`` (the model is in :mod:`smgrad.allowances`)."""

from __future__ import annotations

from smgrad import analytic, bounds, functions
from smgrad.allowances.entries import REFERENCE, Entries
from smgrad.backend import eps, xp

SAVED = 2.0  # roundings of eps y_i in a low-precision Jacobian entry: y stored, then the result


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


class Jacobian(Entries):
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

    def reference_rows(self, rows):
        """:meth:`columns` against the seed's formulas (:data:`REFERENCE`), for the rows
        ``rows`` of ``J`` laid out as they are computed, ``(N, K, n)``: ``w_ij`` is symmetric,
        so each entry's value is its column's, and the long axis is the fast one."""
        w = self.y[:, rows, None] * self.y[:, None, :]
        w[:, xp.arange(rows.size), rows] += self.y[:, rows]
        if self.scale is not None:
            w = w * self.scale[:, :, None]
        stored = None if self.K_low is None else SAVED * w
        return self._user(w, 1.0, self.K[:, :, None], stored, reference=True)

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
