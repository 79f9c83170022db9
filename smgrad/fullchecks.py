"""Full mode: every entry of every derivative, against numerical derivatives taken one
coordinate at a time (in every row at once) and chunked so that memory stays bounded.

* ``softmax_jacobian``   ``J`` against the numerical Jacobian of the forward;
* ``softmax_backward``   ``J^T g`` against the numerical derivative of ``<g, softmax>``;
* ``cross_entropy_grad`` ``dL/dx`` against the numerical derivative of the loss;
* ``cross_entropy_hessian`` the numerical derivative of the gradient against the Hessian
                         ``sum(t) (diag(y) - y y^T)`` (divided by B for mean);
* ``identities``         the seed's identities on ``J``: symmetric, rows summing to 0, and
                         ``J^T (-t / y) = y * sum(t) - t``.

For a user's implementation each derivative is also compared with the seed's formulas
(method ``reference``).
"""

from __future__ import annotations

from smgrad import analytic, diagnose, errormodel, functions, numdiff, problems
from smgrad.backend import xp
from smgrad.checkkit import (
    choose_method,
    chunk,
    diagnose_rows,
    error,
    index_of,
    loss_scales,
    result_of,
    row_weight,
    skipped,
    softmax_derivative_rows,
    softmax_scales,
    step_for,
    tolerance,
)
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.report import CheckResult


def softmax_derivatives(impl: Implementation, forward, p: problems.Problem, cfg: Config, basis: str):
    """``softmax_jacobian``, ``softmax_backward`` and ``identities``, from one pass of
    perturbations: the numerical ``J^T g`` is ``g`` contracted with the numerical
    Jacobian columns, and the identities read the same blocks of ``J``. For a user's
    implementation, the Jacobian and backward are also compared with the seed's formulas
    (method ``reference``)."""
    return softmax_derivative_rows(
        impl, p, cfg, lambda jac, vjp: _softmax_derivative_pass(impl, forward, p, cfg, jac, vjp, basis)
    )


def _softmax_derivative_pass(impl, forward, p, cfg, want_jac, want_vjp, basis) -> dict[str, list[CheckResult]]:
    x, g = p.x, p.g
    n = x.shape[-1]
    y = functions.softmax(x)
    scales = softmax_scales(x, y)
    phi_scales = errormodel.Scales.of(
        x,
        value=xp.sum(xp.abs(g * y), axis=-1, keepdims=True),
        slope=2 * xp.max(xp.abs(g), axis=-1, keepdims=True),
    )
    method, note = choose_method(forward, x, scales, cfg)
    note = "; ".join(filter(None, [basis, note]))
    h = step_for(method, scales, cfg)
    jac_tol = tolerance(errormodel.bound(method, h, scales, cfg.dtype, n)[None], cfg, scales.slope[None])
    vjp_tol = tolerance(
        errormodel.bound(method, h, phi_scales, cfg.dtype, n)[None, :, 0], cfg, phi_scales.slope[None, :, 0]
    )
    versus_reference = not impl.is_reference
    x64, g64 = x.astype(float), g.astype(float)
    if want_jac:
        block = impl.softmax_jacobian_block
        if block is None:
            full = xp.asarray(impl.softmax_jacobian(x))
            block = lambda x, rows, cols: full[..., rows, cols]  # noqa: E731
        jac_ref_tol = tolerance(errormodel.value_error(scales, cfg.dtype, n)[None], cfg, scales.slope[None])
    if want_vjp:
        vjp = xp.asarray(impl.softmax_backward(x, g))
        vjp_ref = analytic.softmax_vjp(x64, g64)
        vjp_ref_tol = tolerance(
            errormodel.value_error(phi_scales, cfg.dtype, n)[None, :, 0], cfg, phi_scales.slope[None, :, 0]
        )
    jac_cmp, vjp_cmp, jac_ref, vjp_ref_cmp = Comparison(), Comparison(), Comparison(), Comparison()
    identities = Identities(p, cfg) if want_jac else None
    for cols, D in numdiff.jacobian_columns(forward, x, method, h, chunk(p, n, cfg)):
        # D[k, b, i] = J[b, i, cols[k]]
        if want_jac:
            columns = xp.asarray(block(x, slice(None), cols))
            identities.add(columns, xp.asarray(block(x, cols, slice(int(cols[0]), None))), cols)
            A = xp.moveaxis(columns, -1, 0)
            where = index_of(D.shape, p.vector, lambda idx, cols=cols: (idx[1], idx[2], int(cols[idx[0]])))
            jac_cmp.add(A, D, jac_tol, where)
            if versus_reference:
                R = xp.moveaxis(analytic.softmax_jacobian_block(x64, slice(None), cols), -1, 0)
                jac_ref.add(A, R, jac_ref_tol, where)
        if want_vjp:
            numerical = xp.sum(g[None] * D, axis=-1)
            where = index_of(numerical.shape, p.vector, lambda idx, cols=cols: (idx[1], int(cols[idx[0]])))
            vjp_cmp.add(vjp[:, cols].T, numerical, vjp_tol, where)
            if versus_reference:
                vjp_ref_cmp.add(vjp[:, cols].T, vjp_ref[:, cols].T, vjp_ref_tol, where)
    step = float(xp.max(h))
    out = {}
    if want_jac:
        rows = [result_of("softmax_jacobian", p, jac_cmp, method, step, note)]
        if versus_reference:
            rows.append(result_of("softmax_jacobian", p, jac_ref, "reference"))
        if impl.softmax_jacobian_block is None:  # a user's J, held whole
            diagnose_rows(rows, lambda: diagnose.jacobian(full, x))
        out["softmax_jacobian"] = rows
        out["identities"] = [identities.verdict()]
        if out["identities"][0].status == "failed":
            out["identities"][0].diagnosis = next((r.diagnosis for r in rows if r.diagnosis), None)
    if want_vjp:
        rows = [result_of("softmax_backward", p, vjp_cmp, method, step, note)]
        if versus_reference:
            rows.append(result_of("softmax_backward", p, vjp_ref_cmp, "reference"))
        diagnose_rows(rows, lambda: diagnose.backward(vjp, x, g))
        out["softmax_backward"] = rows
    return out


def cross_entropy_grad(impl: Implementation, losses, p: problems.Problem, cfg: Config, basis: str):
    """``dL/dx`` against the numerical gradient of the loss and, for a user's
    implementation, against the seed's ``y * sum(t) - t`` (method ``reference``)."""
    if impl.cross_entropy_grad is None:
        return [skipped("cross_entropy_grad", p, "cross_entropy_grad")]
    try:
        return _cross_entropy_grad_pass(impl, losses, p, cfg, basis)
    except Exception as e:
        return [error("cross_entropy_grad", p, e)]


def _cross_entropy_grad_pass(impl, losses, p, cfg, basis) -> list[CheckResult]:
    x, t = p.x, p.t
    N, n = x.shape

    def f(X):
        return xp.asarray(losses(X, xp.tile(t, (X.shape[0] // N, 1))))[:, None]

    scales = loss_scales(x, t, functions.cross_entropy(x, t, "none"))
    method, note = choose_method(f, x, scales, cfg)
    note = "; ".join(filter(None, [basis, note]))
    h = step_for(method, scales, cfg)
    weight = row_weight(p, cfg)
    tol = tolerance(
        weight * errormodel.bound(method, h, scales, cfg.dtype, n)[None, :, 0], cfg, weight * scales.slope[None, :, 0]
    )
    grad = xp.asarray(impl.cross_entropy_grad(x, t))
    cmp = Comparison()
    for cols, D in numdiff.jacobian_columns(f, x, method, h, chunk(p, 1, cfg)):
        numerical = weight * D[..., 0]
        layout = lambda idx, cols=cols: (idx[1], int(cols[idx[0]]))  # noqa: E731
        cmp.add(grad[:, cols].T, numerical, tol, index_of(numerical.shape, p.vector, layout))
    rows = [result_of("cross_entropy_grad", p, cmp, method, float(xp.max(h)), note)]
    if not impl.is_reference:
        expected = analytic.cross_entropy_grad(x.astype(float), t.astype(float), "none") * weight
        ref = Comparison()
        atol = tolerance(weight * errormodel.value_error(scales, cfg.dtype, n), cfg, weight * scales.slope)
        ref.add(grad, expected, atol, index_of(grad.shape, p.vector))
        rows.append(result_of("cross_entropy_grad", p, ref, "reference"))
    diagnose_rows(rows, lambda: diagnose.cross_entropy_grad(grad, x, t, cfg.reduction, p.vector))
    return rows


def cross_entropy_hessian(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """The Jacobian of the implementation's gradient, numerically, against the seed's
    Hessian ``sum(t) (diag(y) - y y^T)`` per row, divided by B for mean reduction."""
    if impl.row_gradients is None:
        return skipped("cross_entropy_hessian", p, "cross_entropy_grad")
    x, t = p.x, p.t
    N, n = x.shape
    weight = row_weight(p, cfg)

    def f(X):
        return xp.asarray(impl.row_gradients(X, xp.tile(t, (X.shape[0] // N, 1))))

    y = functions.softmax(x)
    total = xp.sum(t, axis=-1, keepdims=True)
    scales = errormodel.Scales.of(
        x, value=xp.max(xp.abs(y * total - t), axis=-1, keepdims=True), slope=xp.sum(xp.abs(t), axis=-1, keepdims=True)
    )
    method, note = choose_method(f, x, scales, cfg)
    h = step_for(method, scales, cfg)
    tol = tolerance(weight * errormodel.bound(method, h, scales, cfg.dtype, n)[None], cfg, weight * scales.slope[None])
    cmp = Comparison()
    for cols, D in numdiff.jacobian_columns(f, x, method, h, chunk(p, n, cfg)):
        exact = xp.moveaxis(analytic.softmax_jacobian_block(x, slice(None), cols) * total[:, :, None], -1, 0)
        where = index_of(D.shape, p.vector, lambda idx, cols=cols: (idx[1], idx[2], int(cols[idx[0]])))
        cmp.add(weight * exact, weight * D, tol, where)
    return result_of("cross_entropy_hessian", p, cmp, method, float(xp.max(h)), note)


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
        self.r = errormodel.rtol(cfg.dtype, n)
        # The row sums and J^T u add n terms each, in float64, in whatever order numpy
        # takes (sequential along a strided axis): rounding of up to n * eps relative to
        # the sum of their magnitudes, beyond the rounding of the terms themselves.
        self.r_sum = self.r + n * float(xp.finfo(float).eps)
        # A correct J may be scaled as a whole by 1 + c (its y from a rounded log-sum-exp):
        # J = J^T still holds, but row sums are y_i * c and J^T u is off by c times its terms.
        self.common = errormodel.common_error(errormodel.size_of(x), cfg.dtype, n)
        # Entries of J below the smallest normal number may be flushed to zero or lose
        # digits: an absolute floor per entry, times whatever multiplies that entry.
        self.floor = float(xp.finfo(x.dtype).tiny)
        self.atol = self.r * xp.max(self.y, axis=-1)[:, None, None] + self.floor
        # u = -t / y in float64, where a float32 y of 1e-40 still has a finite 1/y; a y of
        # 0, or a float64 y below t / 1.8e308, leaves the chain rule nothing to evaluate.
        hit = t != 0
        with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.u = xp.where(hit, -t.astype(float) / xp.where(hit, self.y, 1).astype(float), 0)
        self.chain_unusable = bool(xp.any(hit & ~xp.isfinite(self.u)))
        self.expected_chain = self.y * xp.sum(t, axis=-1, keepdims=True) - t
        self.parts = {"J = J^T": Comparison(), "rows of J sum to 0": Comparison(), self.CHAIN: Comparison()}
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
        self.sums += xp.sum(columns, axis=-1, dtype=float)
        self.sums_abs += xp.sum(xp.abs(columns), axis=-1, dtype=float)
        if not self.chain_unusable:
            terms = columns * self.u[:, :, None]
            lhs = xp.sum(terms, axis=1)
            expected = self.expected_chain[:, cols]
            scale = xp.sum(xp.abs(terms), axis=1) + xp.abs(expected) + self.t[:, cols]
            scale = scale + self.floor / r * xp.sum(xp.abs(self.u), axis=-1, keepdims=True)
            where = index_of(lhs.shape, p.vector, lambda i: (i[0], i[1] + start))
            self.parts[self.CHAIN].add(lhs, expected, Tolerance((self.r_sum + self.common) * scale, r), where)

    def verdict(self) -> CheckResult:
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
        out = result_of("identities", p, worst_of, message=message)
        out.status = "failed" if failed else "passed"
        out.max_abs_error = max(c.max_abs_error for c in parts.values())
        return out
