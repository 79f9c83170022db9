"""A low-precision run's derivatives as stored: the implementation's bfloat16 or float16
Jacobian, backward and loss gradient against the seed's formulas in float64 at the same
rounded inputs (method ``reference``), allowed what a float32 computation stored once in
the low dtype carries (:mod:`smgrad.allowances`). Numerical differences of low-precision
values resolve nothing: the algebra is checked by differentiating at the highest
precision the implementation takes (:mod:`.softmax_pass`, :mod:`.derivatives`)."""

from __future__ import annotations

from smgrad import allowances, analytic, diagnose, functions
from smgrad.backend import eps, xp
from smgrad.checks import measure
from smgrad.checks.measure import column_index, index_of, tolerance
from smgrad.checks.outcome import diagnosed, measured, raised
from smgrad.checks.probes import Plan
from smgrad.checks.softmax_pass import backward_rows
from smgrad.compare import Comparison
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.problems import Problem
from smgrad.report import CheckResult


def _allowances(p: Problem, cfg: Config) -> allowances.Jacobian:
    x64 = p.x.astype(float)
    return allowances.Jacobian(x64, functions.softmax(x64), cfg.dtype, float, "complex", xp.zeros((p.batch, 1)))


def softmax_derivatives(impl: Implementation, p: Problem, cfg: Config, plan: Plan) -> list[CheckResult]:
    """``softmax_jacobian`` (every column, where the whole is probed and fits) and
    ``softmax_backward`` (``J^T g``, and ``J^T e_i`` entry by entry where the whole is
    probed) against the seed's formulas."""
    rows = []
    x64, g64 = p.x.astype(float), p.g.astype(float)
    allow = _allowances(p, cfg)
    every = xp.arange(p.dim)
    if impl.softmax_jacobian is not None and plan.whole and not measure.jacobian_too_large(impl, p, cfg):
        try:
            J = xp.asarray(impl.softmax_jacobian(p.x))
            cmp = Comparison()
            R = analytic.jacobian_columns(functions.softmax(x64), every)
            A = xp.moveaxis(J, -1, 0)
            cmp.add(
                A, R, tolerance(allow.columns(every, allowances.REFERENCE), cfg), column_index(A.shape, p.vector, every)
            )
            rows += diagnosed([measured("softmax_jacobian", p, cmp, "reference")], lambda: diagnose.jacobian(J, p.x))
        except Exception as e:
            rows.append(raised("softmax_jacobian", p, e))
    if impl.softmax_backward is not None:
        try:
            vjp = xp.asarray(impl.softmax_backward(p.x, p.g))
            cmp = Comparison()
            tol = tolerance(allow.backward(g64, every, allowances.REFERENCE).T, cfg)
            cmp.add(vjp, analytic.softmax_vjp(x64, g64), tol, index_of(vjp.shape, p.vector))
            seen, note = backward_rows(impl, p, cfg, plan)
            if seen is not None:  # J[b, i, j] as the backward gives it for g = e_i
                S = xp.moveaxis(seen, -1, 0)
                R = analytic.jacobian_columns(functions.softmax(x64), every)
                where = column_index(S.shape, p.vector, every)
                cmp.add(S, R, tolerance(allow.columns(every, allowances.REFERENCE), cfg), where)
            result = measured("softmax_backward", p, cmp, "reference", message=note)
            rows += diagnosed([result], lambda: diagnose.backward(vjp, p.x, p.g))
        except Exception as e:
            rows.append(raised("softmax_backward", p, e))
    return rows


def cross_entropy_grad(impl: Implementation, p: Problem, cfg: Config) -> list[CheckResult]:
    """``dL/dx`` against the seed's ``y sum(t) - t`` (divided by B for mean)."""
    if impl.cross_entropy_grad is None:
        return []
    try:
        grad = xp.asarray(impl.cross_entropy_grad(p.x, p.t))
    except Exception as e:
        return [raised("cross_entropy_grad", p, e)]
    x64, t64 = p.x.astype(float), p.t.astype(float)
    y = functions.softmax(x64)
    weight = measure.row_weight(p, cfg)
    allow = allowances.Gradient(x64, y, t64, cfg.dtype, float, xp.zeros((p.batch, 1)))
    atol = weight * allow.columns(xp.arange(p.dim), allowances.REFERENCE)[..., 0].T
    expected = analytic.cross_entropy_grad(x64, t64, "none") * weight
    cmp = Comparison()
    cmp.add(grad, expected, tolerance(atol, cfg), index_of(grad.shape, p.vector))
    result = measured("cross_entropy_grad", p, cmp, "reference")
    cancelled = _rounded_before_subtracting(
        grad, expected, atol, weight * y * xp.sum(xp.abs(t64), -1, keepdims=True), cfg
    )
    return diagnosed(
        [result],
        lambda: cancelled or diagnose.cross_entropy_grad(grad, p.x, p.t, cfg.reduction, p.vector, *measure.rows_of(p)),
    )


def _rounded_before_subtracting(grad, expected, atol, y_part, cfg: Config) -> str | None:
    """Every entry beyond its allowance is within one rounding of its ``y sum(t)`` part
    to the low dtype (and some such entry is a large fraction of itself wrong): ``y`` was
    rounded before ``t`` was subtracted, which ``y sum(t) - t`` cannot afford where it
    cancels (a confident row's target class)."""
    error = xp.abs(grad.astype(float) - expected)
    beyond = error > atol + tolerance(atol, cfg).rtol * xp.abs(expected)
    if not xp.any(beyond) or not xp.all(error[beyond] <= eps(cfg.dtype) * y_part[beyond] + atol[beyond]):
        return None
    return (
        f"precision lost where y·sum(t) − t cancels (a confident row's target class): y was rounded to "
        f"{cfg.dtype} before t was subtracted; subtract in float32, then round"
    )
