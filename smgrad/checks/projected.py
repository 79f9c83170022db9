"""The softmax's derivatives along random directions (fast mode, and full checks that
sample columns): ``J v`` against the user's ``J`` or the seed's formula, ``<J^T u, v> =
<u, J v>`` for random ``u``, and the rows of ``J`` the backward gives at the sampled
coordinates, projected; the directions made and compared a group at a time
(:class:`smgrad.checks.probes.Projections`)."""

from __future__ import annotations

from smgrad import analytic, bounds, functions
from smgrad.backend import generator, xp
from smgrad.checks import measure, probes
from smgrad.checks.measure import index_of, tolerance
from smgrad.checks.probes import Plan, along_scales
from smgrad.config import Config
from smgrad.problems import Problem


def along(impl, forward, p: Problem, xd, cfg: Config, plan: Plan, allow, projections, rule, jac, vjp, whole):
    """``J v`` along the random directions, a group at a time (one evaluation each), into
    ``jac``: against the user's ``J`` (``whole``, where it is held) or the seed's formula;
    into ``vjp``: ``<J^T u, v> = <u, J v>`` for random ``u``, then the rows of ``J`` the
    backward gives at the sampled coordinates (:func:`rows_along`). None: not checked."""
    (method, h, diff), x, n, y = rule, p.x, p.dim, allow.y
    scales = measure.softmax_scales(x, y)
    bound_v = bounds.bound(method, h, along_scales(scales, method), diff, n)[None]  # (1, N, 1)
    # The formula's J v from softmax(x), as analytic.softmax_jvp (y itself where x is float64).
    formula = None if jac is None or whole is not None else y if x.dtype == y.dtype else functions.softmax(x)
    where = index_of((projections.count, *x.shape), p.vector, lambda idx: (idx[1], idx[2]))  # (b, i) of J v
    rng = generator(cfg.seed, 17)
    row_of = lambda q: () if p.vector else (q % p.batch,)  # noqa: E731
    seen = []  # per group: J v and the user's rounding in it, at the sampled coordinates
    for k, v in projections:
        jv = probes.along(forward, xd, v, method, h)  # (G, N, n)
        allowed = allow.along(v)  # the user's rounding in J v
        if jac is not None:
            exact = xp.einsum("bij,kbj->kbi", whole, v) if whole is not None else analytic.jvp_of(formula, v)
            tol = tolerance(bound_v + allowed, cfg, scales.slope[None])  # a large group is compared in slices
            jac.add(exact, jv, tol, lambda q, at=k * x.size: where(q + at))
        if vjp is None:
            continue
        for g in range(v.shape[0]):
            u = rng.standard_normal(x.shape).astype(x.dtype)
            u_scales = measure.contraction_scales(x, y, u)
            bound_u = bounds.bound(method, h, along_scales(u_scales, method), diff, n)[:, 0]
            analytic_side = xp.sum(xp.asarray(impl.softmax_backward(x, u)) * v[g], axis=-1)
            tol = tolerance(bound_u[None] + allow.backward_along(u, v[g : g + 1]), cfg, u_scales.slope[None, :, 0])
            vjp.add(analytic_side[None], xp.sum(u * jv[g], -1)[None], tol, row_of)
        seen.append((jv[:, :, plan.cols], allowed[:, :, plan.cols]))
    if vjp is not None:
        jv_at, allowed_at = (xp.concatenate(part) for part in zip(*seen, strict=True))
        rows_along(impl, p, cfg, plan, projections, jv_at, bound_v + allowed_at, scales, vjp)


def rows_along(impl, p: Problem, cfg: Config, plan: Plan, projections, jv_at, atol, scales, cmp) -> None:
    """The rows of ``J`` at the sampled coordinates as the backward gives them (for one-hot
    upstream gradients), projected on the directions, against ``J v`` there (``jv_at``,
    ``(K, N, len(cols))``, allowed ``atol``)."""
    x = p.x
    for c, i in enumerate(plan.cols):
        e = xp.zeros_like(x)
        e[:, i] = 1
        row = xp.asarray(impl.softmax_backward(x, e))  # row i of J, as the backward sees it
        projected = xp.concatenate([xp.einsum("bj,kbj->kb", row, v) for _, v in projections])  # (K, N)
        where = lambda q, i=int(i): (i,) if p.vector else (q % p.batch, i)  # noqa: E731
        cmp.add(projected, jv_at[:, :, c], tolerance(atol[:, :, c], cfg, scales.slope[None, :, 0]), where)
