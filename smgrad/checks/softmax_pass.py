"""The softmax derivative checks: ``softmax_jacobian`` (``J`` against the numerical
Jacobian of the forward), ``softmax_backward`` (``J^T g`` against the numerical derivative
of ``<g, softmax>``, and in full mode ``J^T e_i`` entry by entry; in fast mode also
``<J^T u, v> = <u, J v>`` for random ``u`` and, for one-hot ``u`` at the sampled coordinates,
the rows of ``J`` as the backward sees them: :mod:`.projected`) and ``identities``, from one pass of
perturbations of the forward, with the allowances of :mod:`smgrad.allowances`. Where every
column is probed, a user's derivatives are also compared with the seed's formulas (method
``reference``), and the seed's identities are checked on the user's Jacobian.
"""

from __future__ import annotations

from smgrad import allowances, analytic, bounds, diagnose, functions
from smgrad.backend import xp
from smgrad.checks import measure, projected
from smgrad.checks.identities import Identities
from smgrad.checks.measure import column_index, coordinate_index, index_of, tolerance
from smgrad.checks.outcome import diagnosed, measured, missing, raised, skipped
from smgrad.checks.probes import Plan
from smgrad.compare import Comparison
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.problems import Problem
from smgrad.report import CheckResult

SOFTMAX_ROWS = ("softmax_jacobian", "softmax_backward", "identities")
IMPLIED = "implied: every entry of J matches the seed's formula to its rounding (softmax_jacobian, reference)"


def softmax_derivatives(
    impl: Implementation, forward, p: Problem, cfg: Config, plan: Plan, basis: str, versus_reference: bool = True
):
    """The ``softmax_jacobian``, ``softmax_backward`` and ``identities`` rows: skipped
    where the implementation lacks the function (or its Jacobian does not fit), else
    from one pass of perturbations of ``forward`` (and, ``versus_reference``, against the
    seed's formulas where every column is probed)."""
    out: dict[str, list[CheckResult]] = {}
    if not plan.whole:
        out["identities"] = [skipped("identities", p, "needs the whole Jacobian, probed in full mode only")]
    want_jac, want_vjp = impl.softmax_jacobian is not None, impl.softmax_backward is not None
    too_large = measure.jacobian_too_large(impl, p, cfg)
    if too_large:
        out["softmax_jacobian"] = [skipped("softmax_jacobian", p, too_large)]
        out.setdefault("identities", [skipped("identities", p, too_large)])
        want_jac = False
    elif not want_jac:
        out["softmax_jacobian"] = [missing("softmax_jacobian", p, "softmax_jacobian")]
        out.setdefault("identities", [missing("identities", p, "softmax_jacobian")])
    if not want_vjp:
        out["softmax_backward"] = [missing("softmax_backward", p, "softmax_backward")]
    if want_jac or want_vjp:
        try:
            out.update(_softmax_pass(impl, forward, p, cfg, plan, basis, want_jac, want_vjp, versus_reference))
        except Exception as e:
            for name in SOFTMAX_ROWS:
                out.setdefault(name, [raised(name, p, e)])
    return [r for name in SOFTMAX_ROWS for r in out[name]]


def _softmax_pass(impl, forward, p: Problem, cfg: Config, plan: Plan, basis: str, want_jac, want_vjp, versus_reference):
    x, g, n = p.x, p.g, p.dim
    x64, g64 = x.astype(float, copy=False), g.astype(float, copy=False)  # read only: no copies at 10^6
    y = functions.softmax(x64)
    scales, phi = measure.softmax_scales(x, y), measure.contraction_scales(x, y, g)
    diff = measure.precision(forward, x, cfg)
    xd = x.astype(diff, copy=False)
    method, fallback = measure.choose_method(forward, xd, scales, cfg)
    seen, rows_note, identities = None, "", None
    h = measure.step_for(method, scales, cfg, diff)
    bound = lambda s: bounds.bound(method, h, s, diff, n)  # noqa: E731
    allow = allowances.Jacobian(x, y, cfg.dtype, diff, method, h)
    real = method != "complex"
    chunk = measure.chunk(p, n, cfg)
    versus_reference = versus_reference and plan.whole and not impl.is_reference
    if versus_reference:  # every entry against the formulas: the columns differentiated cross-check
        plan = plan.against_formulas()
    columns = plan.columns(forward, xd, method, h, chunk)  # D[k, b, i] = J[b, i, cols[k]]
    if not real and (not plan.every_column or x.size * n <= allowances.WHOLE_SHIFT_PROBE):
        columns = list(columns)  # small, or a sample: looked at whole for the shift first, then compared
        allow.measure_shift(x64, columns)
    elif not real:
        allow.shifts(forward, xd)
    if want_jac:
        block = impl.softmax_jacobian_block
        if block is None:
            whole = xp.asarray(impl.softmax_jacobian(x))
            block = lambda x, rows, cols: whole[..., rows, cols]  # noqa: E731
        identities = Identities(p, cfg) if plan.whole else None
    # Where every entry of J is compared with the seed's formula to its rounding, the
    # identities (properties of that formula) hold to rounding whenever that comparison
    # passes: checked apart only where it fails, to say which one breaks (at n = 3000
    # they took 40 % of a full check).
    implied = plan.sampled and versus_reference and identities is not None
    if want_vjp:
        vjp = xp.asarray(impl.softmax_backward(x, g))
        vjp_ref = analytic.softmax_vjp(x64, g64)
        seen, rows_note = backward_rows(impl, p, cfg, plan)
    jac_cmp, vjp_cmp, jac_ref, vjp_ref_cmp = Comparison(), Comparison(), Comparison(), Comparison()

    def numerical(cols, D):
        """Columns ``cols`` against their numerical derivatives ``D``; the user's
        block ``J[..., :, cols]``, where there is one."""
        jac_tol = tolerance(allow.columns(cols), cfg)
        where_j = column_index(D.shape, p.vector, cols)
        J = None
        if want_jac:
            J = xp.asarray(block(x, slice(None), cols))
            jac_cmp.add(xp.moveaxis(J, -1, 0), D, jac_tol, where_j)
        if want_vjp:
            along = xp.sum(g[None] * D, axis=-1)
            where = coordinate_index(along.shape, p.vector, cols)
            vjp_tol = tolerance(allow.backward(g, cols, bound(phi) if real else None), cfg)
            vjp_cmp.add(vjp[:, cols].T, along, vjp_tol, where)
            if seen is not None:  # J[b, i, cols[k]] as the backward gives it for g = e_i
                vjp_cmp.add(xp.moveaxis(seen[:, :, cols], -1, 0), D, jac_tol, where_j)
        return J

    def with_identities(cols, J):
        """The identities fed ``J[..., :, cols]`` and the matching rows (contiguous ``cols``)."""
        identities.add(J, xp.asarray(block(x, cols, slice(int(cols[0]), None))), cols)

    def against_formulas(cols, J=None):
        """Columns ``cols`` (contiguous, in order) against the identities and the seed's
        formulas: every column, in full mode."""
        where_j = column_index((cols.size, *x.shape), p.vector, cols)
        if want_jac and J is None:
            J = xp.asarray(block(x, slice(None), cols))
        if identities is not None and J is not None and not implied:
            with_identities(cols, J)
        if not versus_reference:
            return
        R = analytic.jacobian_columns(y, cols)
        ref_tol = tolerance(allow.columns(cols, allowances.REFERENCE), cfg)
        if J is not None:
            jac_ref.add(xp.moveaxis(J, -1, 0), R, ref_tol, where_j)
        if want_vjp:
            seen_part = None if seen is None else xp.moveaxis(seen[:, :, cols], -1, 0)
            backward_against_formulas(cols, seen_part, R, ref_tol, where_j)

    def backward_against_formulas(js, seen_part, R, tol, where):
        """Entries ``js`` of ``J^T g`` against the seed's formula, and the part of ``J``
        that the backward gave for one-hot upstream gradients (``seen_part``, laid out as
        ``R``, the formula's, allowed ``tol``) where it was asked for."""
        ref_vjp_tol = tolerance(allow.backward(g, js, allowances.REFERENCE), cfg)
        at = coordinate_index((js.size, x.shape[0]), p.vector, js)
        vjp_ref_cmp.add(vjp[:, js].T, vjp_ref[:, js].T, ref_vjp_tol, at)
        if seen_part is not None:
            vjp_ref_cmp.add(seen_part, R, tol, where)

    def rows_against_formulas(rows):
        """Rows ``rows`` of ``J`` (contiguous), as the user's block gives them, against the
        seed's formulas: where every column is not differentiated, every entry is compared
        this way, a block of rows at a time (laid out as computed: with columns, reading
        the user's block and the formula's across their long axis cost a third more)."""
        R = analytic.jacobian_block_of(y, rows, slice(None))  # (B, K, n)
        tol = tolerance(allow.reference_rows(rows), cfg)
        where = index_of(R.shape, p.vector, lambda idx: (idx[0], int(rows[idx[1]]), idx[2]))
        if want_jac:
            jac_ref.add(xp.asarray(block(x, rows, slice(None))), R, tol, where)
        if want_vjp:
            backward_against_formulas(rows, None if seen is None else seen[:, rows, :], R, tol, where)

    for cols, D in columns:
        J = numerical(cols, D)
        if plan.every_column:  # one pass: the same block feeds both
            against_formulas(cols, J)
    # Blocks of 2^17 entries: a full check of one scenario at n = 3000 took 101 ms with 2^16,
    # 79 ms with 2^17, 76 ms with 2^18 (best of 9, 2026-12-03; an earlier measurement had
    # found 2^16 best): each block costs a few dozen numpy calls.
    wide = max(1, 2**17 // x.size)
    blocks = lambda: (xp.arange(start, min(n, start + wide)) for start in range(0, n, wide))  # noqa: E731
    for cols in blocks() if plan.sampled else ():
        (rows_against_formulas if versus_reference else against_formulas)(cols)
    for cols in blocks() if implied and not jac_ref.passed else ():
        with_identities(cols, xp.asarray(block(x, slice(None), cols)))
    projections = plan.directions(xd, 0, measure.chunk(p, n, cfg))
    if projections is not None:  # J v along random directions, a group at a time, one evaluation each
        held = whole if want_jac and impl.softmax_jacobian_block is None else None
        rule = (method, h, diff)
        jac, vjp_along = (jac_cmp if want_jac else None), (vjp_cmp if want_vjp else None)
        projected.along(impl, forward, p, xd, cfg, plan, allow, projections, rule, jac, vjp_along, held)
    step, out = float(xp.max(h)), {}
    probed = plan.note("columns", versus_reference)
    note = "; ".join(filter(None, [basis, fallback, measure.precision_note(diff, cfg), probed]))
    if want_jac:
        rows = [measured("softmax_jacobian", p, jac_cmp, method, step, note, precision=diff.name)]
        if versus_reference:
            rows.append(measured("softmax_jacobian", p, jac_ref, "reference"))
        if impl.softmax_jacobian_block is None:  # a user's J, held whole
            rows = diagnosed(rows, lambda: diagnose.jacobian(whole, x))
        out["softmax_jacobian"] = rows
        if implied and jac_ref.passed:
            out["identities"] = [skipped("identities", p, IMPLIED)]
        elif identities is not None:
            out["identities"] = [identities.verdict(next((r.diagnosis for r in rows if r.diagnosis), None))]
    if want_vjp:
        vjp_note = "; ".join(filter(None, [note, rows_note]))
        rows = [measured("softmax_backward", p, vjp_cmp, method, step, vjp_note, precision=diff.name)]
        if versus_reference:
            rows.append(measured("softmax_backward", p, vjp_ref_cmp, "reference"))
        out["softmax_backward"] = diagnosed(rows, lambda: diagnose.backward(vjp, x, g))
    return out


def backward_rows(impl, p: Problem, cfg: Config, plan: Plan):
    """``(seen, note)``: ``seen[b, i, j]``, the backward's result for the upstream
    gradient ``e_i``, i.e. row ``i`` of the Jacobian as the backward computes it, so that
    each of its entries is compared on its own (a random upstream gradient sums n of them
    and hides one that is wrong); None where it is not asked for, and why."""
    x, n = p.x, p.dim
    if not plan.whole:
        return None, ""
    size = x.size * n * x.dtype.itemsize
    if size > cfg.max_memory // 2:
        return None, f"J^T e_i not compared entry by entry: {size / 2**20:.0f} MiB, over half of max_memory"
    seen = xp.empty((x.shape[0], n, n), dtype=x.dtype)
    chunk = measure.chunk(p, n, cfg)
    for start in range(0, n, chunk):
        rows = xp.arange(start, min(n, start + chunk))
        E = xp.zeros((rows.size, *x.shape), dtype=x.dtype)
        E[xp.arange(rows.size), :, rows] = 1
        X = xp.broadcast_to(x, E.shape).reshape(-1, n)
        out = xp.asarray(impl.softmax_backward(X, E.reshape(-1, n))).reshape(E.shape)
        seen[:, rows, :] = xp.moveaxis(out, 0, 1)
    return seen, ""
