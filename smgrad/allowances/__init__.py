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

from smgrad.allowances.entries import REFERENCE, SHIFT, WHOLE_SHIFT_PROBE, Entries, multiplier
from smgrad.allowances.gradient import Gradient, gradient_weights
from smgrad.allowances.jacobian import SAVED, Jacobian, backward_weights, weights

__all__ = [
    "REFERENCE",
    "SAVED",
    "SHIFT",
    "WHOLE_SHIFT_PROBE",
    "Entries",
    "Gradient",
    "Jacobian",
    "backward_weights",
    "gradient_weights",
    "multiplier",
    "weights",
]
