"""Fast mode: random projections and sampled coordinates instead of whole Jacobians, for
sizes where a full check is out of reach (a vocabulary of a million classes).

Two kinds of evidence, each costing one evaluation per direction whatever ``n`` is:

* projections: ``J v`` along a few random directions ``v``, entry by entry, and
  ``<u, J v> = <J^T u, v>`` for random cotangents ``u``. The directions are zero-mean
  normal vectors: non-negative ones lie near the all-ones vector, which the softmax
  Jacobian sends to zero, and would let a backward that returns zeros pass.
* sampled coordinates: every row's largest and smallest logit and target class, and a
  few random ones: the Jacobian's columns there entry by entry, and its rows there
  (through the backward with a one-hot cotangent) projected on the random directions.
  An error confined to a few entries (a wrong diagonal, the target class) is caught
  there rather than averaged away over n^2 entries.

The tolerances are those of full mode, with the derivative scale of a direction ``v``
normalised to ``max |v| = 1`` taken as ``2^(p+1)`` times that of a coordinate.
"""

from __future__ import annotations

import dataclasses

from smgrad import analytic, diagnose, errormodel, functions, numdiff, problems
from smgrad.backend import xp
from smgrad.checkkit import (
    choose_method,
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
from smgrad.compare import Comparison
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.report import CheckResult

PROJECTIONS = 4
# Rows are independent (the row_independence check sees to that), so fast mode checks
# the derivatives of a sample of them: the first, the last and random ones between.
MAX_ROWS = 8
# Sampled columns hold B * n entries each: as many as fit in this many entries, between
# MIN_COORDINATES and MAX_COORDINATES, half of them the rows' special classes.
COORDINATE_ENTRIES = 4 * 10**6
MIN_COORDINATES, MAX_COORDINATES = 4, 24


def sample_rows(p: problems.Problem, seed: int) -> tuple[problems.Problem, list[int]]:
    """A problem of at most :data:`MAX_ROWS` of ``p``'s rows, and which rows they are."""
    if p.batch <= MAX_ROWS:
        return p, list(range(p.batch))
    rng = xp.random.default_rng([seed, 19])
    middle = rng.choice(xp.arange(1, p.batch - 1), size=MAX_ROWS - 2, replace=False)
    rows = sorted({0, p.batch - 1, *(int(b) for b in middle)})
    labels = None if p.labels is None else p.labels[rows]
    return dataclasses.replace(p, x=p.x[rows], t=p.t[rows], g=p.g[rows], labels=labels), rows


def _in_full_batch(results: list[CheckResult], p: problems.Problem, rows: list[int]) -> list[CheckResult]:
    """Results on sampled rows, with their row indices those of the full batch."""
    if len(rows) == p.batch:
        return results
    for r in results:
        r.worst = [dataclasses.replace(e, index=(rows[e.index[0]], *e.index[1:])) if e.index else e for e in r.worst]
        if r.method:
            r.message = "; ".join(filter(None, [r.message, f"rows {', '.join(map(str, rows))} of {p.batch}"]))
    return results


def softmax_derivatives(impl: Implementation, forward, p: problems.Problem, cfg: Config, basis: str):
    q, rows = sample_rows(p, cfg.seed)
    return _in_full_batch(_softmax_derivatives(impl, forward, q, cfg, basis), p, rows)


def cross_entropy_grad(impl: Implementation, losses, p: problems.Problem, cfg: Config, basis: str):
    q, rows = sample_rows(p, cfg.seed)
    return _in_full_batch(_cross_entropy_grad(impl, losses, q, cfg, basis), p, rows)


def cross_entropy_hessian(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    q, rows = sample_rows(p, cfg.seed)
    return _in_full_batch([_cross_entropy_hessian(impl, q, cfg)], p, rows)[0]


def coordinates(p: problems.Problem, seed: int) -> object:
    """The sampled columns: the rows' largest and smallest logits and target classes,
    then random ones, as many as :data:`COORDINATE_ENTRIES` allows."""
    count = int(min(MAX_COORDINATES, max(MIN_COORDINATES, COORDINATE_ENTRIES // (p.batch * p.dim))))
    rng = xp.random.default_rng([seed, 11])
    special = xp.stack([xp.argmax(p.x, -1), xp.argmax(p.t, -1), xp.argmin(p.x, -1)], axis=-1).ravel()
    chosen = list(dict.fromkeys(int(j) for j in special))[: max(1, count // 2)]
    for j in rng.permutation(p.dim):
        if len(chosen) >= min(count, p.dim):
            break
        if int(j) not in chosen:
            chosen.append(int(j))
    return xp.asarray(sorted(chosen))


def directions(p: problems.Problem, seed: int, salt: int) -> object:
    """``PROJECTIONS`` zero-mean normal directions per row, scaled to ``max |v| = 1``."""
    rng = xp.random.default_rng([seed, 13, salt])
    v = rng.standard_normal((PROJECTIONS, p.batch, p.dim), dtype=xp.float32).astype(p.x.dtype)
    v /= xp.max(xp.abs(v), axis=-1, keepdims=True)
    return v


def _along(scales: errormodel.Scales, method: str) -> errormodel.Scales:
    """Scales for a direction with ``max |v| = 1``: derivatives up to 2^(p+1) times larger."""
    factor = 2.0 ** (errormodel.RULES[method].order + 1)
    return errormodel.Scales(value=scales.value, slope=scales.slope * factor, size=scales.size)


def _derivative(f, x, make, count: int, method: str, h, chunk: int):
    """Directional derivatives along ``count`` directions made ``chunk`` at a time."""
    parts = []
    for start in range(0, count, chunk):
        parts.append(numdiff.directional(f, make(start, min(count, start + chunk)), method, h))
    return xp.concatenate(parts, axis=0)


def _columns(f, x, cols, method, h, chunk):
    return _derivative(f, x, lambda a, b: numdiff.Coordinates(x, cols[a:b]), cols.size, method, h, chunk)


def _projections(f, x, v, method, h, chunk):
    return _derivative(f, x, lambda a, b: numdiff.Directions(x, v[a:b]), v.shape[0], method, h, chunk)


def _chunk(p: problems.Problem, m: int, cfg: Config) -> int:
    itemsize = 2 * xp.dtype(cfg.dtype).itemsize
    return numdiff.chunk_size(p.batch, p.dim, m, itemsize, cfg.max_memory // 4)


def _softmax_derivatives(impl: Implementation, forward, p: problems.Problem, cfg: Config, basis: str):
    """``softmax_jacobian`` and ``softmax_backward`` from sampled columns and projections;
    the identities need the whole Jacobian and are left to full mode."""
    return softmax_derivative_rows(
        impl,
        p,
        cfg,
        lambda jac, vjp: _softmax_pass(impl, forward, p, cfg, jac, vjp, basis),
        identities=CheckResult("identities", p.scenario, "skipped", message="needs the whole Jacobian: --mode full"),
    )


def _softmax_pass(impl, forward, p, cfg, want_jac, want_vjp, basis) -> dict[str, list[CheckResult]]:
    x, n = p.x, p.dim
    y = functions.softmax(x)
    scales = softmax_scales(x, y)
    method, note = choose_method(forward, x, scales, cfg)
    note = "; ".join(filter(None, [basis, note, "fast mode: sampled columns and random projections"]))
    h = step_for(method, scales, cfg)
    along = _along(scales, method)
    cols = coordinates(p, cfg.seed)
    v = directions(p, cfg.seed, 0)
    chunk = _chunk(p, n, cfg)
    columns = _columns(forward, x, cols, method, h, chunk)  # (S, B, n): J[b, :, cols[s]]
    jv = _projections(forward, x, v, method, h, chunk)  # (K, B, n): (J v)[b, :]
    column_bound = errormodel.bound(method, h, scales, cfg.dtype, n)
    projection_bound = errormodel.bound(method, h, along, cfg.dtype, n)
    out = {}
    step = float(xp.max(h))
    if want_jac:
        cmp = Comparison()
        block = impl.softmax_jacobian_block
        if block is None:
            full = xp.asarray(impl.softmax_jacobian(x))
            block = lambda x, rows, cols: full[..., rows, cols]  # noqa: E731
            exact_jv = xp.einsum("bij,kbj->kbi", full, v)
        else:
            exact_jv = analytic.softmax_jvp(x, v)
        A = xp.moveaxis(xp.asarray(block(x, slice(None), cols)), -1, 0)
        _compare(
            cmp,
            A,
            columns,
            tolerance(column_bound[None], cfg, scales.slope[None]),
            index_of(A.shape, p.vector, _column_layout(cols)),
        )
        _compare(
            cmp,
            exact_jv,
            jv,
            tolerance(projection_bound[None], cfg, scales.slope[None]),
            _projection_index(jv.shape, p.vector),
        )
        rows = [result_of("softmax_jacobian", p, cmp, method, step, note)]
        if impl.softmax_jacobian_block is None:  # a user's J, held whole
            diagnose_rows(rows, lambda: diagnose.jacobian(full, x))
        out["softmax_jacobian"] = rows
    if want_vjp:
        rows = [_backward(impl, p, cfg, y, columns, jv, v, cols, method, h, step, note)]
        diagnose_rows(rows, lambda: diagnose.backward(xp.asarray(impl.softmax_backward(x, p.g)), x, p.g))
        out["softmax_backward"] = rows
    return out


def _backward(impl, p, cfg, y, columns, jv, v, cols, method, h, step, note) -> CheckResult:
    """``J^T g`` on the sampled coordinates; ``<u, J v> = <J^T u, v>`` for random ``u``
    and for one-hot ``u`` at the sampled coordinates (rows of J seen by the backward)."""
    x, g, n = p.x, p.g, p.dim
    cmp = Comparison()
    vjp_g = xp.asarray(impl.softmax_backward(x, g))
    g_scales = errormodel.Scales.of(
        x, value=xp.sum(xp.abs(g * y), -1, keepdims=True), slope=2 * xp.max(xp.abs(g), -1, keepdims=True)
    )
    bound_g = errormodel.bound(method, h, g_scales, cfg.dtype, n)[:, 0]
    numerical = xp.sum(g[None] * columns, axis=-1)  # (S, B): (J^T g)[b, cols[s]]
    cmp.add(
        vjp_g[:, cols].T,
        numerical,
        tolerance(bound_g[None], cfg, g_scales.slope[None, :, 0]),
        _coordinate_index(numerical.shape, p, cols),
    )
    rng = xp.random.default_rng([cfg.seed, 17])
    for k in range(v.shape[0]):
        u = rng.standard_normal(x.shape).astype(x.dtype)
        u_scales = errormodel.Scales.of(
            x, value=xp.sum(xp.abs(u * y), -1, keepdims=True), slope=2 * xp.max(xp.abs(u), -1, keepdims=True)
        )
        bound_u = errormodel.bound(method, h, _along(u_scales, method), cfg.dtype, n)[:, 0]
        analytic_side = xp.sum(xp.asarray(impl.softmax_backward(x, u)) * v[k], axis=-1)
        cmp.add(
            analytic_side[None],
            xp.sum(u * jv[k], -1)[None],
            tolerance(bound_u[None], cfg, u_scales.slope[None, :, 0]),
            _row_of(p),
        )
    row_scales = softmax_scales(x, y)
    bound_row = errormodel.bound(method, h, _along(row_scales, method), cfg.dtype, n)[:, 0]
    unit_row = row_scales.slope[None, :, 0]
    for i in cols:
        e = xp.zeros_like(x)
        e[:, i] = 1
        row = xp.asarray(impl.softmax_backward(x, e))  # row i of J, as the backward sees it
        analytic_side = xp.einsum("bj,kbj->kb", row, v)
        where = lambda q, i=int(i), K=v.shape[0]: _row_index(q, K, p, i)  # noqa: E731
        cmp.add(analytic_side, jv[:, :, i], tolerance(bound_row[None], cfg, unit_row), where)
    return result_of("softmax_backward", p, cmp, method, step, note)


def _cross_entropy_grad(impl: Implementation, losses, p: problems.Problem, cfg: Config, basis: str):
    if impl.cross_entropy_grad is None:
        return [skipped("cross_entropy_grad", p, "cross_entropy_grad")]
    try:
        return [_gradient_pass(impl, losses, p, cfg, basis)]
    except Exception as e:
        return [error("cross_entropy_grad", p, e)]


def _gradient_pass(impl, losses, p, cfg, basis) -> CheckResult:
    x, t, n = p.x, p.t, p.dim
    N = p.batch

    def f(X):
        return xp.asarray(losses(X, xp.tile(t, (X.shape[0] // N, 1))))[:, None]

    scales = loss_scales(x, t, functions.cross_entropy(x, t, "none"))
    method, note = choose_method(f, x, scales, cfg)
    note = "; ".join(filter(None, [basis, note, "fast mode: sampled coordinates and random projections"]))
    h = step_for(method, scales, cfg)
    weight = row_weight(p, cfg)
    grad = xp.asarray(impl.cross_entropy_grad(x, t))
    cols = coordinates(p, cfg.seed)
    v = directions(p, cfg.seed, 1)
    chunk = _chunk(p, 1, cfg)
    cmp = Comparison()
    numerical = weight * _columns(f, x, cols, method, h, chunk)[..., 0]  # (S, B)
    bound = weight * errormodel.bound(method, h, scales, cfg.dtype, n)[:, 0]
    cmp.add(
        grad[:, cols].T,
        numerical,
        tolerance(bound[None], cfg, weight * scales.slope[None, :, 0]),
        _coordinate_index(numerical.shape, p, cols),
    )
    along = weight * errormodel.bound(method, h, _along(scales, method), cfg.dtype, n)[:, 0]
    projected = weight * _projections(f, x, v, method, h, chunk)[..., 0]  # (K, B)
    cmp.add(
        xp.einsum("bj,kbj->kb", grad, v),
        projected,
        tolerance(along[None], cfg, weight * scales.slope[None, :, 0]),
        _row_of(p),
    )
    rows = [result_of("cross_entropy_grad", p, cmp, method, float(xp.max(h)), note)]
    diagnose_rows(rows, lambda: diagnose.cross_entropy_grad(grad, x, t, cfg.reduction, p.vector))
    return rows[0]


def _cross_entropy_hessian(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """``H v`` along random directions and ``H e_j`` at the sampled coordinates, from the
    implementation's gradient, against ``sum(t) (diag(y) - y y^T)``."""
    if impl.row_gradients is None:
        return skipped("cross_entropy_hessian", p, "cross_entropy_grad")
    x, t, n, N = p.x, p.t, p.dim, p.batch
    weight = row_weight(p, cfg)

    def f(X):
        return xp.asarray(impl.row_gradients(X, xp.tile(t, (X.shape[0] // N, 1))))

    y = functions.softmax(x)
    total = xp.sum(t, axis=-1, keepdims=True)
    scales = errormodel.Scales.of(
        x, value=xp.max(xp.abs(y * total - t), -1, keepdims=True), slope=xp.sum(xp.abs(t), -1, keepdims=True)
    )
    method, note = choose_method(f, x, scales, cfg)
    note = "; ".join(filter(None, [note, "fast mode: sampled columns and random projections"]))
    h = step_for(method, scales, cfg)
    cols = coordinates(p, cfg.seed)
    v = directions(p, cfg.seed, 2)
    chunk = _chunk(p, n, cfg)
    cmp = Comparison()
    exact_cols = xp.moveaxis(analytic.softmax_jacobian_block(x, slice(None), cols) * total[:, :, None], -1, 0)
    bound = weight * errormodel.bound(method, h, scales, cfg.dtype, n)[None]
    cmp.add(
        weight * exact_cols,
        weight * _columns(f, x, cols, method, h, chunk),
        tolerance(bound, cfg, weight * scales.slope[None]),
        index_of(exact_cols.shape, p.vector, _column_layout(cols)),
    )
    exact_hv = analytic.softmax_jvp(x, v) * total[None]
    along = weight * errormodel.bound(method, h, _along(scales, method), cfg.dtype, n)[None]
    cmp.add(
        weight * exact_hv,
        weight * _projections(f, x, v, method, h, chunk),
        tolerance(along, cfg, weight * scales.slope[None]),
        _projection_index(exact_hv.shape, p.vector),
    )
    return result_of("cross_entropy_hessian", p, cmp, method, float(xp.max(h)), note)


def _compare(cmp: Comparison, A, D, tol, where) -> None:
    """Compare slice by slice along the first axis, so temporaries stay one slice big."""
    per = int(xp.prod(xp.asarray(A.shape[1:])))
    for s in range(A.shape[0]):
        cmp.add(A[s : s + 1], D[s : s + 1], tol, lambda q, s=s: where(q + s * per))


def _row_of(p: problems.Problem):
    """The index of a projected value ``(K, B)``: its row alone, as a 1-tuple."""
    return lambda q: () if p.vector else (q % p.batch,)


def _column_layout(cols):
    return lambda idx: (idx[1], idx[2], int(cols[idx[0]]))


def _coordinate_index(shape, p: problems.Problem, cols):
    return index_of(shape, p.vector, lambda idx: (idx[1], int(cols[idx[0]])))


def _projection_index(shape, vector: bool):
    """``(b, i)`` of an entry of ``J v`` (which direction is not an index of J)."""
    return index_of(shape, vector, lambda idx: (idx[1], idx[2]))


def _row_index(q: int, K: int, p: problems.Problem, i: int) -> tuple[int, ...]:
    b = q % p.batch
    return (i,) if p.vector else (b, i)
