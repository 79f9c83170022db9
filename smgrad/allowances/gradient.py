"""Allowances for the cross-entropy gradient ``y sum(t) - t`` (:class:`Gradient`), entry
by entry: ``u_j = |t_j| + y_j sum|t|`` (the model is in :mod:`smgrad.allowances`)."""

from __future__ import annotations

from smgrad import analytic
from smgrad.allowances.entries import Entries
from smgrad.backend import eps, quietly, xp


def gradient_weights(y, t):
    """``u_j = |t_j| + y_j sum|t|`` per row ``(N, n)``: what entry ``j`` of the loss's
    gradient ``y sum(t) - t`` rounds with, in units of ``eps K``."""
    t = xp.abs(t.astype(float))
    return t + y * xp.sum(t, axis=-1, keepdims=True)


class Gradient(Entries):
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
