"""Which checks run on what: every check in every scenario, as results. Prints nothing.

Checks, in the order they are reported:

* ``softmax``            the forward against an independently written formula; rows
                         finite, in [0, 1] and summing to 1;
* ``softmax_jacobian``   ``J`` against the numerical Jacobian of the forward;
* ``softmax_backward``   ``J^T g`` against the numerical derivative of ``<g, softmax>``;
* ``cross_entropy``      the loss against an independently written formula;
* ``cross_entropy_grad`` ``dL/dx`` against the numerical derivative of the loss;
* ``cross_entropy_hessian`` the numerical derivative of the gradient against the Hessian
                         ``sum(t) (diag(y) - y y^T)`` (divided by B for mean);
* ``row_independence``   changing one row of a batch changes no other row's results
                         (rows are perturbed together, so this is checked apart);
* ``identities``         the seed's identities on ``J``: symmetric, rows summing to 0, and
                         ``J^T (-t / y) = y * sum(t) - t`` (the chain rule of the seed).

Derivatives are compared with the numerical derivative of the implementation's own
forward where it has one, so a forward bug and a backward bug are told apart.
"""

from __future__ import annotations

import warnings

from smgrad import analytic, diagnose, errormodel, functions, numdiff, problems
from smgrad.backend import xp
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.impl import Implementation, ImplementationError, describe, reference
from smgrad.report import CheckResult, Report

CHECKS = (
    "softmax",
    "softmax_jacobian",
    "softmax_backward",
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_hessian",
    "row_independence",
    "identities",
)


def run(config: Config, impl: Implementation | None = None) -> Report:
    """Run every check in every scenario of ``config`` on ``impl`` (default: the reference)."""
    ref = reference(config.reduction)
    impl = impl or ref
    by_check: dict[str, list[CheckResult]] = {name: [] for name in CHECKS}
    for scenario in config.scenarios:
        problem = problems.make_problem(
            scenario,
            config.dim,
            config.batch,
            xp.dtype(config.dtype),
            config.seed,
            config.scale,
            config.targets,
            config.label_smoothing,
            config.target_sum,
        )
        for result in _scenario(impl, ref, problem, config):
            by_check[result.name].append(result)
    results = [r for name in CHECKS for r in by_check[name]]
    _diagnose_overflow(results)
    return Report(config, results, impl.name)


def _diagnose_overflow(results: list[CheckResult]) -> None:
    """A check that fails in the ``overflow`` scenario alone has met an overflowing exp."""
    groups: dict[tuple, list[CheckResult]] = {}
    for r in results:
        groups.setdefault((r.name, r.method == "reference"), []).append(r)
    for rows in groups.values():
        bad = [r for r in rows if r.status in ("failed", "error")]
        others = [r for r in rows if r.scenario != "overflow"]
        if others and [r.scenario for r in bad] == ["overflow"] and all(r.status == "passed" for r in others):
            bad[0].diagnosis = bad[0].diagnosis or diagnose.OVERFLOW


def _scenario(impl: Implementation, ref: Implementation, p: problems.Problem, cfg: Config) -> list[CheckResult]:
    impl.notes.clear()
    with warnings.catch_warnings():
        # Overflow in an implementation's exp is judged by its results, not its warnings.
        warnings.simplefilter("ignore", RuntimeWarning)
        softmax = _guarded("softmax", p, lambda: _softmax(impl, p, cfg))
        loss = _guarded("cross_entropy", p, lambda: _cross_entropy(impl, p, cfg))
        # Derivatives are checked against the numerical derivative of the implementation's
        # own forward, unless that forward is itself wrong here: differentiating a wrong
        # (or NaN) forward would blame a correct backward for the forward's bug.
        own_softmax = _trusted(impl, impl.softmax, softmax)
        own_losses = _trusted(impl, impl.row_losses if impl.cross_entropy else None, loss)
        results = [
            softmax,
            *_softmax_derivatives(impl, own_softmax or ref.softmax, p, cfg, _basis_note(impl, impl.softmax, softmax)),
            loss,
            *_cross_entropy_grad(
                impl, own_losses or ref.row_losses, p, cfg, _basis_note(impl, impl.cross_entropy, loss)
            ),
            _guarded("cross_entropy_hessian", p, lambda: _cross_entropy_hessian(impl, p, cfg)),
            _guarded("row_independence", p, lambda: _row_independence(impl, p, cfg)),
        ]
    _hessian_follows_gradient(results)
    return [_with_notes(impl, r) for r in results]


def _hessian_follows_gradient(results: list[CheckResult]) -> None:
    """A wrong gradient has a wrong derivative: the Hessian inherits its diagnosis."""
    hessian = next((r for r in results if r.name == "cross_entropy_hessian"), None)
    why = next((r.diagnosis for r in results if r.name == "cross_entropy_grad" and r.diagnosis), None)
    if hessian is not None and hessian.status == "failed" and why and not hessian.diagnosis:
        hessian.diagnosis = f"follows from cross_entropy_grad: {why}"


def _trusted(impl: Implementation, function, forward: CheckResult):
    """The implementation's forward if it has one that passed its check, else None."""
    ok = forward.status == "passed" and forward.name not in impl.notes
    return function if function is not None and ok else None


def _basis_note(impl: Implementation, function, forward: CheckResult) -> str:
    if impl.is_reference or function is None or _trusted(impl, function, forward):
        return ""
    return f"differentiated the reference {forward.name}, as the implementation's {forward.name} is wrong here"


def _with_notes(impl: Implementation, result: CheckResult) -> CheckResult:
    """A function that changed its input or returned the wrong dtype fails its checks."""
    notes = impl.notes.get(result.name)
    if not notes or result.status not in ("passed", "failed"):
        return result
    result.status = "failed"
    result.message = "; ".join(filter(None, [f"{result.name} " + "; ".join(notes), result.message]))
    if any("in place" in note for note in notes):
        result.diagnosis = diagnose.MUTATION
    return result


def _guarded(name: str, p: problems.Problem, body) -> CheckResult:
    try:
        return body()
    except Exception as e:  # an implementation that raises fails its check, never smgrad
        return _error(name, p, e)


def _error(name: str, p: problems.Problem, e: Exception) -> CheckResult:
    message = str(e) if isinstance(e, ImplementationError) else f"raised {describe(e)}"
    return CheckResult(name, p.scenario, "error", message=message)


def _skipped(name: str, p: problems.Problem, missing: str) -> CheckResult:
    return CheckResult(name, p.scenario, "skipped", message=f"the implementation defines no {missing}")


def _index_of(shape: tuple[int, ...], vector: bool, layout=None):
    """Map a flat position in an array of ``shape`` to the user's index, dropping the
    batch axis (always axis 0 after ``layout``) for a 1-D problem."""

    def index_of(p: int) -> tuple[int, ...]:
        idx = tuple(int(i) for i in xp.unravel_index(p, shape))
        if layout is not None:
            idx = layout(idx)
        return idx[1:] if vector else idx

    return index_of


def _result(name: str, p: problems.Problem, cmp: Comparison, method=None, step=None, message="") -> CheckResult:
    found = []
    if cmp.nonfinite_analytic:
        found.append(f"{cmp.nonfinite_analytic} non-finite values in the implementation's results")
    if cmp.nonfinite_numerical:
        found.append(f"{cmp.nonfinite_numerical} non-finite values in what they are compared with")
    message = "; ".join(filter(None, [*found, message]))
    return CheckResult(
        name=name,
        scenario=p.scenario,
        status="passed" if cmp.passed else "failed",
        method=method,
        max_abs_error=cmp.max_abs_error,
        max_rel_error=cmp.max_rel_error,
        atol=cmp.max_atol,
        rtol=cmp.rtol,
        step=step,
        worst=cmp.failing if not cmp.passed else cmp.worst[:1],
        message=message,
    )


def _tolerance(atol, cfg: Config) -> Tolerance:
    return Tolerance(atol, errormodel.rtol(cfg.dtype, cfg.dim)).overridden(cfg.atol, cfg.rtol)


def _softmax_scales(x, y) -> errormodel.Scales:
    return errormodel.Scales.of(x, value=xp.max(xp.abs(y), axis=-1, keepdims=True), slope=1.0)


def _softmax(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    if impl.softmax is None:
        return _skipped("softmax", p, "softmax")
    y = impl.softmax(p.x)
    expected = functions.softmax_via_logsumexp(p.x)
    scales = _softmax_scales(p.x, expected)
    cmp = Comparison()
    cmp.add(y, expected, _tolerance(errormodel.noise(scales, cfg.dtype, cfg.dim), cfg), _index_of(y.shape, p.vector))
    problems_found = []
    sums = xp.sum(y, axis=-1)
    slack = errormodel.rtol(cfg.dtype, cfg.dim)
    if not xp.all(xp.isfinite(y)):
        pass  # counted by the comparison
    elif not xp.all(xp.abs(sums - 1) <= slack):
        problems_found.append(f"rows sum to {float(sums[xp.argmax(xp.abs(sums - 1))]):.17g}, not 1")
    elif xp.any(y < 0) or xp.any(y > 1 + slack):
        problems_found.append("values outside [0, 1]")
    result = _result("softmax", p, cmp, message="; ".join(problems_found))
    if problems_found:
        result.status = "failed"
    if result.status == "failed":
        result.diagnosis = diagnose.softmax(y, p.x)
    return result


def _method(f, x, scales, cfg: Config) -> tuple[str, str]:
    """The method to use for ``f``, and a note when ``auto`` had to fall back."""
    if cfg.method != "auto":
        return cfg.method, ""
    fault = numdiff.complex_step_fault(f, x, scales)
    if fault is None:
        return "complex", ""
    return "richardson", f"complex step not usable: {fault}"


def _step(method: str, scales, cfg: Config):
    if cfg.step is not None:
        return xp.full(scales.size.shape, cfg.step)
    return errormodel.default_step(method, scales, cfg.dtype, cfg.dim)


def _chunk(p: problems.Problem, m: int, cfg: Config) -> int:
    itemsize = 2 * xp.dtype(cfg.dtype).itemsize  # complex step doubles it
    return numdiff.chunk_size(p.batch, p.dim, m, itemsize, cfg.max_memory // 4)


def _softmax_derivatives(impl: Implementation, forward, p: problems.Problem, cfg: Config, basis: str):
    """``softmax_jacobian``, ``softmax_backward`` and ``identities``, from one pass of
    perturbations: the numerical ``J^T g`` is ``g`` contracted with the numerical
    Jacobian columns, and the identities read the same blocks of ``J``. For a user's
    implementation, the Jacobian and backward are also compared with the seed's formulas
    (method ``reference``)."""
    want_jac = impl.softmax_jacobian is not None
    want_vjp = impl.softmax_backward is not None
    names = ["softmax_jacobian", "softmax_backward", "identities"]
    out: dict[str, list[CheckResult]] = {}
    size = p.batch * p.dim**2 * xp.dtype(cfg.dtype).itemsize
    if want_jac and impl.softmax_jacobian_block is None and size > cfg.max_memory // 2:
        why = f"its (B, n, n) Jacobian takes {size / 2**20:.0f} MiB, over half of --max-memory"
        out["softmax_jacobian"] = [CheckResult("softmax_jacobian", p.scenario, "skipped", message=why)]
        out["identities"] = [CheckResult("identities", p.scenario, "skipped", message=why)]
        want_jac = False
    elif not want_jac:
        out["softmax_jacobian"] = [_skipped("softmax_jacobian", p, "softmax_jacobian")]
        out["identities"] = [_skipped("identities", p, "softmax_jacobian")]
    if not want_vjp:
        out["softmax_backward"] = [_skipped("softmax_backward", p, "softmax_backward")]
    if want_jac or want_vjp:
        try:
            out.update(_softmax_derivative_pass(impl, forward, p, cfg, want_jac, want_vjp, basis))
        except Exception as e:
            for name in names:
                out.setdefault(name, [_error(name, p, e)])
    return [r for name in names for r in out[name]]


def _softmax_derivative_pass(impl, forward, p, cfg, want_jac, want_vjp, basis) -> dict[str, list[CheckResult]]:
    x, g = p.x, p.g
    n = x.shape[-1]
    y = functions.softmax(x)
    scales = _softmax_scales(x, y)
    phi_scales = errormodel.Scales.of(
        x,
        value=xp.sum(xp.abs(g * y), axis=-1, keepdims=True),
        slope=2 * xp.max(xp.abs(g), axis=-1, keepdims=True),
    )
    method, note = _method(forward, x, scales, cfg)
    note = "; ".join(filter(None, [basis, note]))
    h = _step(method, scales, cfg)
    jac_tol = _tolerance(errormodel.bound(method, h, scales, cfg.dtype, n)[None], cfg)
    vjp_tol = _tolerance(errormodel.bound(method, h, phi_scales, cfg.dtype, n)[None, :, 0], cfg)
    versus_reference = not impl.is_reference
    x64, g64 = x.astype(float), g.astype(float)
    if want_jac:
        block = impl.softmax_jacobian_block
        if block is None:
            full = xp.asarray(impl.softmax_jacobian(x))
            block = lambda x, rows, cols: full[..., rows, cols]  # noqa: E731
        jac_ref_tol = _tolerance(errormodel.noise(scales, cfg.dtype, n)[None], cfg)
    if want_vjp:
        vjp = xp.asarray(impl.softmax_backward(x, g))
        vjp_ref = analytic.softmax_vjp(x64, g64)
        vjp_ref_tol = _tolerance(errormodel.noise(phi_scales, cfg.dtype, n)[None, :, 0], cfg)
    jac_cmp, vjp_cmp, jac_ref, vjp_ref_cmp = Comparison(), Comparison(), Comparison(), Comparison()
    identities = _Identities(p, cfg) if want_jac else None
    for cols, D in numdiff.jacobian_columns(forward, x, method, h, _chunk(p, n, cfg)):
        # D[k, b, i] = J[b, i, cols[k]]
        if want_jac:
            columns = xp.asarray(block(x, slice(None), cols))
            identities.add(columns, xp.asarray(block(x, cols, slice(None))), cols)
            A = xp.moveaxis(columns, -1, 0)
            index_of = _index_of(D.shape, p.vector, lambda idx, cols=cols: (idx[1], idx[2], int(cols[idx[0]])))
            jac_cmp.add(A, D, jac_tol, index_of)
            if versus_reference:
                R = xp.moveaxis(analytic.softmax_jacobian_block(x64, slice(None), cols), -1, 0)
                jac_ref.add(A, R, jac_ref_tol, index_of)
        if want_vjp:
            numerical = xp.sum(g[None] * D, axis=-1)
            index_of = _index_of(numerical.shape, p.vector, lambda idx, cols=cols: (idx[1], int(cols[idx[0]])))
            vjp_cmp.add(vjp[:, cols].T, numerical, vjp_tol, index_of)
            if versus_reference:
                vjp_ref_cmp.add(vjp[:, cols].T, vjp_ref[:, cols].T, vjp_ref_tol, index_of)
    step = float(xp.max(h))
    out = {}
    if want_jac:
        rows = [_result("softmax_jacobian", p, jac_cmp, method, step, note)]
        if versus_reference:
            rows.append(_result("softmax_jacobian", p, jac_ref, "reference"))
        if impl.softmax_jacobian_block is None:  # a user's J, held whole
            _diagnose(rows, lambda: diagnose.jacobian(full, x))
        out["softmax_jacobian"] = rows
        out["identities"] = [identities.result()]
        if out["identities"][0].status == "failed":
            out["identities"][0].diagnosis = next((r.diagnosis for r in rows if r.diagnosis), None)
    if want_vjp:
        rows = [_result("softmax_backward", p, vjp_cmp, method, step, note)]
        if versus_reference:
            rows.append(_result("softmax_backward", p, vjp_ref_cmp, "reference"))
        _diagnose(rows, lambda: diagnose.backward(vjp, x, g))
        out["softmax_backward"] = rows
    return out


def _diagnose(rows: list[CheckResult], why) -> None:
    """Name the probable mistake on each failed row (computed once, only on failure)."""
    failed = [r for r in rows if r.status == "failed"]
    if failed:
        text = why()
        for r in failed:
            r.diagnosis = text


def _loss_scales(x, t, losses) -> errormodel.Scales:
    return errormodel.Scales.of(x, value=xp.abs(losses)[:, None], slope=xp.sum(xp.abs(t), axis=-1, keepdims=True))


def _row_weight(p: problems.Problem, cfg: Config) -> float:
    """d L / d (row loss): 1/B for mean reduction of a batch, else 1."""
    return 1.0 / p.batch if cfg.reduction == "mean" and not p.vector else 1.0


def _cross_entropy(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    if impl.cross_entropy is None:
        return _skipped("cross_entropy", p, "cross_entropy")
    loss = xp.asarray(impl.cross_entropy(p.x, p.t))
    reduction = "none" if p.vector else cfg.reduction
    expected = functions.cross_entropy_via_logsumexp(p.x, p.t, reduction)
    rows = functions.cross_entropy_via_logsumexp(p.x, p.t, "none")
    noise = errormodel.noise(_loss_scales(p.x, p.t, rows), cfg.dtype, cfg.dim)[:, 0]
    atol = xp.sum(noise) * _row_weight(p, cfg)
    cmp = Comparison()
    cmp.add(loss.reshape(expected.shape), expected, _tolerance(atol, cfg), lambda _: ())
    message = ""
    if xp.all(xp.isfinite(loss)) and float(loss.min()) < -float(atol):
        message = "negative loss for non-negative targets"
    result = _result("cross_entropy", p, cmp, message=message)
    if message:
        result.status = "failed"
    _diagnose([result], lambda: diagnose.cross_entropy(loss, p.x, p.t, cfg.reduction, p.vector))
    return result


def _cross_entropy_grad(impl: Implementation, losses, p: problems.Problem, cfg: Config, basis: str):
    """``dL/dx`` against the numerical gradient of the loss and, for a user's
    implementation, against the seed's ``y * sum(t) - t`` (method ``reference``)."""
    if impl.cross_entropy_grad is None:
        return [_skipped("cross_entropy_grad", p, "cross_entropy_grad")]
    try:
        return _cross_entropy_grad_pass(impl, losses, p, cfg, basis)
    except Exception as e:
        return [_error("cross_entropy_grad", p, e)]


def _cross_entropy_grad_pass(impl, losses, p, cfg, basis) -> list[CheckResult]:
    x, t = p.x, p.t
    N, n = x.shape

    def f(X):
        return xp.asarray(losses(X, xp.tile(t, (X.shape[0] // N, 1))))[:, None]

    scales = _loss_scales(x, t, functions.cross_entropy(x, t, "none"))
    method, note = _method(f, x, scales, cfg)
    note = "; ".join(filter(None, [basis, note]))
    h = _step(method, scales, cfg)
    weight = _row_weight(p, cfg)
    tol = _tolerance(weight * errormodel.bound(method, h, scales, cfg.dtype, n)[None, :, 0], cfg)
    grad = xp.asarray(impl.cross_entropy_grad(x, t))
    cmp = Comparison()
    for cols, D in numdiff.jacobian_columns(f, x, method, h, _chunk(p, 1, cfg)):
        numerical = weight * D[..., 0]
        layout = lambda idx, cols=cols: (idx[1], int(cols[idx[0]]))  # noqa: E731
        cmp.add(grad[:, cols].T, numerical, tol, _index_of(numerical.shape, p.vector, layout))
    rows = [_result("cross_entropy_grad", p, cmp, method, float(xp.max(h)), note)]
    if not impl.is_reference:
        expected = analytic.cross_entropy_grad(x.astype(float), t.astype(float), "none") * weight
        ref = Comparison()
        atol = _tolerance(weight * errormodel.noise(scales, cfg.dtype, n), cfg)
        ref.add(grad, expected, atol, _index_of(grad.shape, p.vector))
        rows.append(_result("cross_entropy_grad", p, ref, "reference"))
    _diagnose(rows, lambda: diagnose.cross_entropy_grad(grad, x, t, cfg.reduction, p.vector))
    return rows


def _cross_entropy_hessian(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """The Jacobian of the implementation's gradient, numerically, against the seed's
    Hessian ``sum(t) (diag(y) - y y^T)`` per row, divided by B for mean reduction."""
    if impl.row_gradients is None:
        return _skipped("cross_entropy_hessian", p, "cross_entropy_grad")
    x, t = p.x, p.t
    N, n = x.shape
    weight = _row_weight(p, cfg)

    def f(X):
        return xp.asarray(impl.row_gradients(X, xp.tile(t, (X.shape[0] // N, 1))))

    y = functions.softmax(x)
    total = xp.sum(t, axis=-1, keepdims=True)
    scales = errormodel.Scales.of(
        x, value=xp.max(xp.abs(y * total - t), axis=-1, keepdims=True), slope=xp.sum(xp.abs(t), axis=-1, keepdims=True)
    )
    method, note = _method(f, x, scales, cfg)
    h = _step(method, scales, cfg)
    tol = _tolerance(weight * errormodel.bound(method, h, scales, cfg.dtype, n)[None], cfg)
    cmp = Comparison()
    for cols, D in numdiff.jacobian_columns(f, x, method, h, _chunk(p, n, cfg)):
        exact = xp.moveaxis(analytic.softmax_jacobian_block(x, slice(None), cols) * total[:, :, None], -1, 0)
        index_of = _index_of(D.shape, p.vector, lambda idx, cols=cols: (idx[1], idx[2], int(cols[idx[0]])))
        cmp.add(weight * exact, weight * D, tol, index_of)
    return _result("cross_entropy_hessian", p, cmp, method, float(xp.max(h)), note)


def _row_independence(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """Rows are perturbed all at once in the derivative checks, which is sound only if
    each row's results depend on that row alone: change row 0, the others must not move."""
    if p.vector or p.batch < 2:
        return CheckResult("row_independence", p.scenario, "skipped", message="needs a batch of two or more rows")
    x, t, g = p.x, p.t, p.g
    calls = {
        "softmax": lambda X: impl.softmax(X),
        "softmax_backward": lambda X: impl.softmax_backward(X, g),
        "cross_entropy_grad": lambda X: impl.cross_entropy_grad(X, t),
    }
    calls = {name: f for name, f in calls.items() if getattr(impl, name) is not None}
    if not calls:
        return _skipped("row_independence", p, "softmax, softmax_backward or cross_entropy_grad")
    changed = x.copy()
    changed[0] = xp.roll(x[0], 1) + 1
    r = errormodel.rtol(cfg.dtype, p.dim)
    cmp, mixing = Comparison(), []
    for name, f in calls.items():
        try:
            before, after = xp.asarray(f(x))[1:], xp.asarray(f(changed))[1:]
        except Exception:  # a function that raises fails its own check; nothing to learn here
            continue
        same = (before == after) | (xp.isnan(before) & xp.isnan(after))  # NaN stayed NaN: unchanged
        before, after = xp.where(same, 0, before), xp.where(same, 0, after)
        finite = before[xp.isfinite(before)]
        scale = r * float(xp.max(xp.abs(finite))) if finite.size else 0.0
        cmp.add(after, before, Tolerance(scale, r), lambda q, shape=before.shape: _shifted_row(q, shape))
        if not xp.allclose(after, before, rtol=r, atol=scale):
            mixing.append(name)
    result = _result(
        "row_independence",
        p,
        cmp,
        message=f"changing row 0 changed other rows of {', '.join(mixing)}" if mixing else "",
    )
    if mixing:
        result.status = "failed"
        result.diagnosis = "rows mixed across the batch: a sum or maximum over the wrong axis"
    return result


def _shifted_row(q: int, shape) -> tuple[int, ...]:
    b, i = xp.unravel_index(q, shape)
    return int(b) + 1, int(i)


class _Identities:
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
        # Entries of J below the smallest normal number may be flushed to zero or lose
        # digits: an absolute floor per entry, times whatever multiplies that entry.
        self.floor = float(xp.finfo(x.dtype).tiny)
        self.atol = self.r * xp.max(self.y, axis=-1)[:, None, None] + self.floor
        hit = t != 0
        self.underflow = bool(xp.any(hit & (self.y == 0)))
        with xp.errstate(divide="ignore", invalid="ignore"):
            self.u = xp.where(hit, -t / xp.where(hit, self.y, 1), 0)
        self.expected_chain = self.y * xp.sum(t, axis=-1, keepdims=True) - t
        self.parts = {"J = J^T": Comparison(), "rows of J sum to 0": Comparison(), self.CHAIN: Comparison()}
        self.sums = xp.zeros((N, n))
        self.sums_abs = xp.zeros((N, n))

    def add(self, columns, rows, cols) -> None:
        """``columns = J[..., :, cols]`` ``(N, n, K)`` and ``rows = J[..., cols, :]`` ``(N, K, n)``."""
        p, r, start = self.p, self.r, int(cols[0])
        self.parts["J = J^T"].add(
            columns,
            xp.swapaxes(rows, -1, -2),
            Tolerance(self.atol, r),
            _index_of(columns.shape, p.vector, lambda i: (i[0], i[1], i[2] + start)),
        )
        self.sums += xp.sum(columns, axis=-1)
        self.sums_abs += xp.sum(xp.abs(columns), axis=-1)
        if not self.underflow:
            terms = columns * self.u[:, :, None]
            lhs = xp.sum(terms, axis=1)
            expected = self.expected_chain[:, cols]
            scale = xp.sum(xp.abs(terms), axis=1) + xp.abs(expected) + self.t[:, cols]
            scale = scale + self.floor / r * xp.sum(xp.abs(self.u), axis=-1, keepdims=True)
            self.parts[self.CHAIN].add(
                lhs, expected, Tolerance(r * scale, r), _index_of(lhs.shape, p.vector, lambda i: (i[0], i[1] + start))
            )

    def result(self) -> CheckResult:
        p, n = self.p, self.p.dim
        # Each J_ij is rounded relative to y_i (the diagonal y_i - y_i^2 loses all its
        # digits when y_i rounds to 1), so a row sum is 0 only to eps * (y_i + sum_j |J_ij|).
        self.parts["rows of J sum to 0"].add(
            self.sums,
            xp.zeros_like(self.sums),
            Tolerance(self.r * (self.sums_abs + self.y) + n * self.floor, 0.0),
            _index_of(self.sums.shape, p.vector),
        )
        parts = dict(self.parts)
        if self.underflow:
            del parts[self.CHAIN]
        failed = [name for name, c in parts.items() if not c.passed]
        worst_of = parts[failed[0]] if failed else max(parts.values(), key=lambda c: c.max_ratio)
        message = "not true: " + ", ".join(failed) if failed else "holds: " + ", ".join(parts)
        if self.underflow:
            message += "; chain rule not evaluated: y underflows to 0 at a target class"
        result = _result("identities", p, worst_of, message=message)
        result.status = "failed" if failed else "passed"
        result.max_abs_error = max(c.max_abs_error for c in parts.values())
        return result
