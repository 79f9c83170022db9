"""The seed's identities on the implementation's Jacobian, to rounding:
``J = J^T``, rows of ``J`` summing to 0, and ``J^T (-t / y) = y * sum(t) - t`` (the chain
rule of the seed). They need every column, so they are checked in full mode only."""

from __future__ import annotations

from smgrad import bounds, functions, problems
from smgrad.backend import eps, quietly, tiny, xp
from smgrad.checks.measure import index_of
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.report import CheckResult


class Identities:
    """The seed's identities on the implementation's Jacobian, to rounding, fed one block
    of columns (and the matching block of rows) at a time:

    J = J^T,  rows of J sum to 0,  J^T (-t / y) = y * sum(t) - t.
    """

    CHAIN = "J^T(-t/y) = y*sum(t) - t"

    def __init__(self, p: problems.Problem, cfg: Config):
        self.p = p
        x, t = p.x, p.t
        N, n = x.shape
        self.t, self.y = t, functions.softmax(x)
        self.r = bounds.rtol(cfg.dtype, n)
        # The row sums and J^T u add n terms each, in float64, in whatever order numpy
        # takes (sequential along a strided axis): rounding of up to n * eps relative to
        # the sum of their magnitudes, beyond the rounding of the terms themselves.
        self.r_sum = self.r + n * eps(float)
        # A correct J may be scaled as a whole by 1 + c (its y from a rounded log-sum-exp):
        # J = J^T still holds, but row sums are y_i * c and J^T u is off by c times its terms.
        self.common = bounds.common_error(bounds.size_of(x), cfg.dtype, n)
        # Entries of J below the smallest normal number may be flushed to zero or lose
        # digits: an absolute floor per entry, times whatever multiplies that entry.
        self.floor = tiny(x.dtype)
        self.atol = self.r * xp.max(self.y, axis=-1)[:, None, None] + self.floor
        # u = -t / y in float64, where a float32 y of 1e-40 still has a finite 1/y; a y of
        # 0, or a float64 y below t / 1.8e308, leaves the chain rule nothing to evaluate.
        hit = t != 0
        with quietly():
            self.u = xp.where(hit, -t.astype(float) / xp.where(hit, self.y, 1).astype(float), 0)
        self.chain_unusable = bool(xp.any(hit & ~xp.isfinite(self.u)))
        self.expected_chain = self.y * xp.sum(t, axis=-1, keepdims=True) - t
        self.parts = {"J = J^T": Comparison(), "rows of J sum to 0": Comparison(power=False), self.CHAIN: Comparison()}
        self.sums = xp.zeros((N, n))
        self.sums_abs = xp.zeros((N, n))

    def add(self, columns, rows, cols) -> None:
        """``columns = J[..., :, cols]`` ``(N, n, K)`` and ``rows = J[..., cols, start:]``
        ``(N, K, n - start)``, ``start = cols[0]``: each pair (i, j) is compared once."""
        p, r, start = self.p, self.r, int(cols[0])
        self.parts["J = J^T"].add(
            columns[:, start:, :],
            xp.swapaxes(rows, -1, -2),
            Tolerance(self.atol, r),
            index_of(
                (columns.shape[0], columns.shape[1] - start, columns.shape[2]),
                p.vector,
                lambda i: (i[0], i[1] + start, i[2] + start),
            ),
        )
        # Sums as products with a vector (BLAS): a sum over a short last axis, or across a
        # strided one, took half of a full check at n = 3000.
        c = columns.astype(float, copy=False)
        size = xp.abs(c)
        ones = xp.ones(c.shape[-1])
        self.sums += c @ ones
        self.sums_abs += size @ ones
        if not self.chain_unusable:
            lhs = (self.u[:, None, :] @ c)[:, 0, :]  # sum_i u_i J_i,cols
            expected = self.expected_chain[:, cols]
            terms = (xp.abs(self.u)[:, None, :] @ size)[:, 0, :]
            scale = terms + xp.abs(expected) + self.t[:, cols]
            scale = scale + self.floor / r * xp.sum(xp.abs(self.u), axis=-1, keepdims=True)
            where = index_of(lhs.shape, p.vector, lambda i: (i[0], i[1] + start))
            self.parts[self.CHAIN].add(lhs, expected, Tolerance((self.r_sum + self.common) * scale, r), where)

    def verdict(self, diagnosis: str | None = None) -> CheckResult:
        """Passed or failed, naming the identities that do not hold; ``diagnosis`` is
        the Jacobian's, given to a failure."""
        p, n = self.p, self.p.dim
        # Each J_ij is rounded relative to y_i (the diagonal y_i - y_i^2 loses all its
        # digits when y_i rounds to 1), so a row sum is 0 only to eps * (y_i + sum_j |J_ij|),
        # and to n * eps * sum_j |J_ij| for the summing.
        self.parts["rows of J sum to 0"].add(
            self.sums,
            xp.zeros_like(self.sums),
            Tolerance(self.r_sum * self.sums_abs + (self.r + self.common) * self.y + n * self.floor, 0.0),
            index_of(self.sums.shape, p.vector),
        )
        parts = dict(self.parts)
        if self.chain_unusable:
            del parts[self.CHAIN]
        failed = [name for name, c in parts.items() if not c.passed]
        worst_of = parts[failed[0]] if failed else max(parts.values(), key=lambda c: c.max_ratio)
        message = "not true: " + ", ".join(failed) if failed else "holds: " + ", ".join(parts)
        if self.chain_unusable:
            message += "; chain rule not evaluated: y at a target class is too small for t/y"
        found = []
        if worst_of.nonfinite_analytic:
            found.append(f"{worst_of.nonfinite_analytic} non-finite values in the implementation's results")
        if worst_of.nonfinite_numerical:
            found.append(f"{worst_of.nonfinite_numerical} non-finite values in what they are compared with")
        message = "; ".join([*found, message])
        return CheckResult(
            name="identities",
            scenario=p.scenario,
            status="failed" if failed else "passed",
            max_abs_error=max(c.max_abs_error for c in parts.values()),
            max_rel_error=worst_of.max_rel_error,
            atol=worst_of.max_atol,
            rtol=worst_of.rtol,
            worst=worst_of.failing if failed else worst_of.worst[:1],
            message=message,
            diagnosis=diagnosis if failed else None,
        )
