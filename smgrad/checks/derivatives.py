"""The loss's derivative checks, along what the probe plan says
(:mod:`smgrad.checks.probes`; the softmax's are in :mod:`smgrad.checks.softmax_pass`):

* ``cross_entropy_grad`` ``dL/dx`` against the numerical derivative of the loss and,
  where every coordinate is probed, against the seed's ``y sum(t) - t``;
* ``cross_entropy_hessian`` the numerical derivative of the gradient against the Hessian
  ``sum(t) (diag(y) - y y^T)`` (divided by B for mean).
"""

from __future__ import annotations

from smgrad import allowances, analytic, bounds, diagnose, functions
from smgrad.backend import xp
from smgrad.checks import consistency, measure
from smgrad.checks.measure import column_index, coordinate_index, index_of, tolerance
from smgrad.checks.outcome import diagnosed, measured, missing, raised
from smgrad.checks.probes import Plan, along, along_scales
from smgrad.compare import Comparison
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.problems import Problem
from smgrad.report import CheckResult


def cross_entropy_grad(
    impl: Implementation, losses, p: Problem, cfg: Config, plan: Plan, basis: str, versus_reference: bool = True
):
    """``dL/dx`` against the numerical gradient of the per-row ``losses`` and, where
    every coordinate is probed (and ``versus_reference``), against the seed's
    ``y * sum(t) - t``."""
    if impl.cross_entropy_grad is None:
        return [missing("cross_entropy_grad", p, "cross_entropy_grad")]
    try:
        return _gradient_pass(impl, losses, p, cfg, plan, basis, versus_reference)
    except Exception as e:
        return [raised("cross_entropy_grad", p, e)]


def _gradient_pass(
    impl, losses, p: Problem, cfg: Config, plan: Plan, basis: str, versus_reference
) -> list[CheckResult]:
    x, t, n, N = p.x, p.t, p.dim, p.batch
    x64, t64 = x.astype(float, copy=False), t.astype(float, copy=False)
    if cfg.loss_reference == "none":  # no formula to compare every entry with: every one differentiated
        plan = plan.everything(n)
    formulas = versus_reference and plan.whole and not impl.is_reference
    if formulas:  # every entry against y sum(t) - t: the coordinates differentiated cross-check
        plan = plan.against_formulas()

    def f(X):
        return xp.asarray(losses(X, xp.tile(t, (X.shape[0] // N, 1))))[:, None]

    scales = measure.loss_scales(x, t, functions.cross_entropy(x, t, "none"))
    diff = measure.precision(f, x, cfg)
    xd = x.astype(diff, copy=False)
    method, fallback = measure.choose_method(f, xd, scales, cfg)
    probed = plan.note("coordinates", formulas)
    note = "; ".join(filter(None, [basis, fallback, measure.precision_note(diff, cfg), probed]))
    h = measure.step_for(method, scales, cfg, diff)
    weight = measure.row_weight(p, cfg)
    bound = lambda s: weight * bounds.bound(method, h, s, diff, n)[None, :, 0]  # noqa: E731
    real = None if method == "complex" else bounds.bound(method, h, scales, diff, n)  # the loss rounds whole
    unit = weight * scales.slope[None, :, 0]  # a real step's power: against the row's scale
    allow = allowances.Gradient(x, functions.softmax(x64), t, cfg.dtype, diff, h, real)
    columns = plan.columns(f, xd, method, h, measure.chunk(p, 1, cfg))  # D[k, b, 0]: d loss_b / d x_b[cols[k]]
    if method == "complex":
        columns = list(columns)  # B n entries, as many as the gradient: the shift is measured on them all
        allow.measure_shift(x64, columns)
    grad = xp.asarray(impl.cross_entropy_grad(x, t))
    cmp = Comparison()
    for cols, D in columns:
        tol = tolerance(weight * allow.columns(cols)[..., 0], cfg, None if real is None else unit)
        cmp.add(grad[:, cols].T, weight * D[..., 0], tol, coordinate_index(D.shape[:2], p.vector, cols))
    row_of = lambda q: () if p.vector else (q % p.batch,)  # noqa: E731
    for _, v in plan.directions(xd, 1, measure.chunk(p, 1, cfg)) or ():  # a group of directions at a time
        projected = weight * along(f, xd, v, method, h)[..., 0]  # (G, B)
        allowed = tolerance(bound(along_scales(scales, method)) + weight * allow.along(v), cfg, unit)
        cmp.add(xp.einsum("bj,kbj->kb", grad, v), projected, allowed, row_of)
    step = float(xp.max(h))
    rows = [measured("cross_entropy_grad", p, cmp, method, step, note, precision=diff.name)]
    if formulas:
        expected = analytic.cross_entropy_grad(x64, t64, "none") * weight
        ref = Comparison()
        every = xp.arange(n)
        atol = weight * allow.columns(every, allowances.REFERENCE)[..., 0].T
        ref.add(grad, expected, tolerance(atol, cfg), index_of(grad.shape, p.vector))
        rows.append(measured("cross_entropy_grad", p, ref, "reference"))
    if cfg.loss_reference == "none":  # its own loss: no named cause, no formula for a row alone
        return rows
    rows = diagnosed(
        rows, lambda: diagnose.cross_entropy_grad(grad, x, t, cfg.reduction, p.vector, *measure.rows_of(p))
    )
    alone = consistency.gradient_alone(impl, p, cfg, scales) if all(r.status == "passed" for r in rows) else None
    return rows if alone is None else [*rows, alone]


def cross_entropy_hessian(impl: Implementation, p: Problem, cfg: Config, plan: Plan) -> CheckResult:
    """The numerical Jacobian of the implementation's gradient against the seed's Hessian
    ``sum(t) (diag(y) - y y^T)`` per row, divided by B for mean reduction."""
    if impl.row_gradients is None:
        return missing("cross_entropy_hessian", p, "cross_entropy_grad")
    x, t, n, N = p.x, p.t, p.dim, p.batch
    weight = measure.row_weight(p, cfg)

    def f(X):
        return xp.asarray(impl.row_gradients(X, xp.tile(t, (X.shape[0] // N, 1))))

    x64 = x.astype(float, copy=False)
    total = xp.sum(t.astype(float), axis=-1, keepdims=True)
    y = functions.softmax(x64)
    scales = measure.gradient_scales(x, y, t)
    diff = measure.precision(f, x, cfg)
    xd = x.astype(diff, copy=False)
    method, fallback = measure.choose_method(f, xd, scales, cfg)
    probed = plan.note("hessian", not impl.is_reference)
    note = "; ".join(filter(None, [fallback, measure.precision_note(diff, cfg), probed]))
    h = measure.step_for(method, scales, cfg, diff)
    # The seed's Hessian (float64) against the numerical Jacobian of the user's gradient.
    # Real steps round the gradient's values (y sum(t) - t) as a whole: the row bound, and
    # power against the row's scale, as for the loss's gradient.
    real = None if method == "complex" else bounds.bound(method, h, scales, diff, n)
    allow = allowances.Jacobian(x, y, float, diff, method, h, scale=total, real=real)
    columns = plan.columns(f, xd, method, h, measure.chunk(p, n, cfg))
    if method == "complex" and (not plan.every_column or x.size * n <= allowances.WHOLE_SHIFT_PROBE):
        columns = list(columns)
        allow.measure_shift(x64, columns)
    elif method == "complex":
        allow.shifts(f, xd)
    unit = weight * scales.slope[None]
    cmp = Comparison()
    for cols, D in columns:
        exact = analytic.jacobian_columns(y, cols) * total[None]
        tol = tolerance(weight * allow.columns(cols), cfg, None if real is None else unit)
        cmp.add(weight * exact, weight * D, tol, column_index(D.shape, p.vector, cols))
    for _, v in plan.directions(xd, 2, measure.chunk(p, n, cfg)) or ():  # a group of directions at a time
        allowed = tolerance(weight * bounds.bound(method, h, along_scales(scales, method), diff, n)[None], cfg, unit)
        exact_hv = analytic.jvp_of(y, v) * total[None]
        where = index_of(exact_hv.shape, p.vector, lambda idx: (idx[1], idx[2]))
        numerical = along(f, xd, v, method, h)
        cmp.add(weight * exact_hv, weight * numerical, allowed, where)
    return measured("cross_entropy_hessian", p, cmp, method, float(xp.max(h)), note, precision=diff.name)
