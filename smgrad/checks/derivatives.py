"""The loss's derivative checks, along what the probe plan says
(:mod:`smgrad.checks.probes`; the softmax's are in :mod:`smgrad.checks.softmax_pass`):

* ``cross_entropy_grad`` ``dL/dx`` against the numerical derivative of the loss and,
  where every coordinate is probed, against the seed's ``y sum(t) - t``;
* ``cross_entropy_hessian`` the numerical derivative of the gradient against the Hessian
  ``sum(t) (diag(y) - y y^T)`` (divided by B for mean).
"""

from __future__ import annotations

from smgrad import analytic, bounds, diagnose, functions
from smgrad.backend import xp
from smgrad.checks import consistency, measure
from smgrad.checks.measure import column_index, coordinate_index, index_of, tolerance
from smgrad.checks.outcome import diagnosed, measured, missing, raised
from smgrad.checks.probes import NOTE, Plan, along_scales
from smgrad.compare import Comparison
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.problems import Problem
from smgrad.report import CheckResult


def cross_entropy_grad(impl: Implementation, losses, p: Problem, cfg: Config, plan: Plan, basis: str):
    """``dL/dx`` against the numerical gradient of the per-row ``losses`` and, where
    every coordinate is probed, against the seed's ``y * sum(t) - t``."""
    if impl.cross_entropy_grad is None:
        return [missing("cross_entropy_grad", p, "cross_entropy_grad")]
    try:
        return _gradient_pass(impl, losses, p, cfg, plan, basis)
    except Exception as e:
        return [raised("cross_entropy_grad", p, e)]


def _gradient_pass(impl, losses, p: Problem, cfg: Config, plan: Plan, basis: str) -> list[CheckResult]:
    x, t, n, N = p.x, p.t, p.dim, p.batch

    def f(X):
        return xp.asarray(losses(X, xp.tile(t, (X.shape[0] // N, 1))))[:, None]

    scales = measure.loss_scales(x, t, functions.cross_entropy(x, t, "none"))
    method, fallback = measure.choose_method(f, x, scales, cfg)
    note = "; ".join(filter(None, [basis, fallback, "" if plan.whole else NOTE["coordinates"]]))
    h = measure.step_for(method, scales, cfg)
    weight = measure.row_weight(p, cfg)
    bound = lambda s: weight * bounds.bound(method, h, s, cfg.dtype, n)[None, :, 0]  # noqa: E731
    unit = weight * scales.slope[None, :, 0]
    grad = xp.asarray(impl.cross_entropy_grad(x, t))
    cmp = Comparison()
    for cols, D in plan.columns(f, x, method, h, measure.chunk(p, 1, cfg)):
        numerical = weight * D[..., 0]
        cmp.add(
            grad[:, cols].T, numerical, tolerance(bound(scales), cfg, unit), coordinate_index(D.shape, p.vector, cols)
        )
    v = plan.directions(x, 1)
    if v is not None:
        projected = weight * plan.along(f, x, v, method, h, measure.chunk(p, 1, cfg))[..., 0]  # (K, B)
        row_of = lambda q: () if p.vector else (q % p.batch,)  # noqa: E731
        along = tolerance(bound(along_scales(scales, method)), cfg, unit)
        cmp.add(xp.einsum("bj,kbj->kb", grad, v), projected, along, row_of)
    rows = [measured("cross_entropy_grad", p, cmp, method, float(xp.max(h)), note)]
    if plan.whole and not impl.is_reference:
        expected = analytic.cross_entropy_grad(x.astype(float), t.astype(float), "none") * weight
        ref = Comparison()
        atol = tolerance(weight * bounds.value_bound(scales, cfg.dtype, n), cfg, weight * scales.slope)
        ref.add(grad, expected, atol, index_of(grad.shape, p.vector))
        rows.append(measured("cross_entropy_grad", p, ref, "reference"))
    rows = diagnosed(rows, lambda: diagnose.cross_entropy_grad(grad, x, t, cfg.reduction, p.vector))
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

    total = xp.sum(t, axis=-1, keepdims=True)
    scales = measure.gradient_scales(x, functions.softmax(x), t)
    method, note = measure.choose_method(f, x, scales, cfg)
    note = "; ".join(filter(None, [note, "" if plan.whole else NOTE["columns"]]))
    h = measure.step_for(method, scales, cfg)
    unit = weight * scales.slope[None]
    cmp = Comparison()
    for cols, D in plan.columns(f, x, method, h, measure.chunk(p, n, cfg)):
        exact = xp.moveaxis(analytic.softmax_jacobian_block(x, slice(None), cols) * total[:, :, None], -1, 0)
        tol = tolerance(weight * bounds.bound(method, h, scales, cfg.dtype, n)[None], cfg, unit)
        cmp.add(weight * exact, weight * D, tol, column_index(D.shape, p.vector, cols))
    v = plan.directions(x, 2)
    if v is not None:
        exact_hv = analytic.softmax_jvp(x, v) * total[None]
        along = weight * bounds.bound(method, h, along_scales(scales, method), cfg.dtype, n)[None]
        where = index_of(exact_hv.shape, p.vector, lambda idx: (idx[1], idx[2]))
        numerical = plan.along(f, x, v, method, h, measure.chunk(p, n, cfg))
        cmp.add(weight * exact_hv, weight * numerical, tolerance(along, cfg, unit), where)
    return measured("cross_entropy_hessian", p, cmp, method, float(xp.max(h)), note)
