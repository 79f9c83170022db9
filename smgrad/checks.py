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

from smgrad import diagnose, errormodel, fastchecks, fullchecks, functions, problems
from smgrad.backend import xp
from smgrad.checkkit import (
    diagnose_rows,
    guarded,
    index_of,
    loss_scales,
    result_of,
    row_weight,
    skipped,
    softmax_scales,
    tolerance,
)
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.impl import Implementation, reference
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


def run(config: Config, impl: Implementation | None = None, on_scenario=None) -> Report:
    """Run every check in every scenario of ``config`` on ``impl`` (default: the reference).
    ``on_scenario()`` is called after each scenario (for a progress bar)."""
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
        if on_scenario is not None:
            on_scenario()
    results = [r for name in CHECKS for r in by_check[name]]
    _diagnose_overflow(results)
    for r in results:
        r.dim, r.seed, r.dtype = config.dim, config.seed, config.dtype
    return Report(config, results, impl.name)


def run_all(configs: list[Config], impl: Implementation | None = None, progress=None) -> Report:
    """One combined report of several runs (dims x seeds x dtypes), in run order.
    ``progress(done, total)`` is called after each scenario of each run."""
    total = sum(len(c.scenarios) for c in configs)
    done = 0

    def step():
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    reports = [run(config, impl, step) for config in configs]
    first = reports[0]
    return Report(first.config, [r for report in reports for r in report], first.implementation, list(configs))


def _diagnose_overflow(results: list[CheckResult]) -> None:
    """A check that fails in the ``overflow`` scenario alone has met an overflowing exp."""
    groups: dict[tuple, list[CheckResult]] = {}
    for r in results:
        groups.setdefault((r.name, r.method == "reference"), []).append(r)
    for rows in groups.values():
        bad = [r for r in rows if r.status in ("failed", "error")]  # not inconclusive: no evidence
        others = [r for r in rows if r.scenario != "overflow"]
        if others and [r.scenario for r in bad] == ["overflow"] and all(r.status == "passed" for r in others):
            bad[0].diagnosis = bad[0].diagnosis or diagnose.OVERFLOW


def _scenario(impl: Implementation, ref: Implementation, p: problems.Problem, cfg: Config) -> list[CheckResult]:
    with impl.observe() as seen, warnings.catch_warnings():
        # Overflow in an implementation's exp is judged by its results, not its warnings.
        warnings.simplefilter("ignore", RuntimeWarning)
        softmax = guarded("softmax", p, lambda: _softmax(impl, p, cfg))
        loss = guarded("cross_entropy", p, lambda: _cross_entropy(impl, p, cfg))
        # Derivatives are checked against the numerical derivative of the implementation's
        # own forward, unless that forward is itself wrong here: differentiating a wrong
        # (or NaN) forward would blame a correct backward for the forward's bug.
        own_softmax = _trusted(seen.notes, impl.softmax, softmax)
        own_losses = _trusted(seen.notes, impl.row_losses if impl.cross_entropy else None, loss)
        derivatives = fullchecks if cfg.resolved_mode == "full" else fastchecks
        results = [
            softmax,
            *derivatives.softmax_derivatives(
                impl, own_softmax or ref.softmax, p, cfg, _basis_note(impl, seen.notes, impl.softmax, softmax)
            ),
            loss,
            *derivatives.cross_entropy_grad(
                impl, own_losses or ref.row_losses, p, cfg, _basis_note(impl, seen.notes, impl.cross_entropy, loss)
            ),
            guarded("cross_entropy_hessian", p, lambda: derivatives.cross_entropy_hessian(impl, p, cfg)),
            guarded("row_independence", p, lambda: _row_independence(impl, p, cfg)),
        ]
    _hessian_follows_gradient(results)
    return [_with_notes(seen.notes, r) for r in results]


def _hessian_follows_gradient(results: list[CheckResult]) -> None:
    """A wrong gradient has a wrong derivative: the Hessian inherits its diagnosis."""
    hessian = next((r for r in results if r.name == "cross_entropy_hessian"), None)
    why = next((r.diagnosis for r in results if r.name == "cross_entropy_grad" and r.diagnosis), None)
    if hessian is not None and hessian.status == "failed" and why and not hessian.diagnosis:
        hessian.diagnosis = f"follows from cross_entropy_grad: {why}"


def _trusted(notes, function, forward: CheckResult):
    """The implementation's forward if it has one that passed its check, else None."""
    ok = forward.status == "passed" and forward.name not in notes
    return function if function is not None and ok else None


def _basis_note(impl: Implementation, notes, function, forward: CheckResult) -> str:
    if impl.is_reference or function is None or _trusted(notes, function, forward):
        return ""
    return f"differentiated the reference {forward.name}, as the implementation's {forward.name} is wrong here"


def _with_notes(seen, result: CheckResult) -> CheckResult:
    """A function that changed its input or returned the wrong dtype fails its checks."""
    notes = seen.get(result.name)
    if not notes or result.status not in ("passed", "failed"):
        return result
    result.status = "failed"
    result.message = "; ".join(filter(None, [f"{result.name} " + "; ".join(notes), result.message]))
    if any("in place" in note for note in notes):
        result.diagnosis = diagnose.MUTATION
    return result


def _softmax(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    if impl.softmax is None:
        return skipped("softmax", p, "softmax")
    y = impl.softmax(p.x)
    expected = functions.softmax_via_logsumexp(p.x.astype(float))  # in float64: the truth
    scales = softmax_scales(p.x, expected)
    cmp = Comparison()
    tol = tolerance(errormodel.value_error(scales, cfg.dtype, cfg.dim), cfg, scales.value)
    cmp.add(y, expected, tol, index_of(y.shape, p.vector))
    problems_found = []
    sums = xp.sum(y, axis=-1)
    slack = errormodel.rtol(cfg.dtype, cfg.dim)
    # A correct row may be scaled as a whole by the rounding of its log-sum-exp.
    common = errormodel.common_error(errormodel.size_of(p.x), cfg.dtype, cfg.dim)[:, 0]
    if not xp.all(xp.isfinite(y)):
        pass  # counted by the comparison
    elif not xp.all(xp.abs(sums - 1) <= slack + common):
        problems_found.append(f"rows sum to {float(sums[xp.argmax(xp.abs(sums - 1))]):.17g}, not 1")
    elif xp.any(y < 0) or xp.any(y > 1 + slack):
        problems_found.append("values outside [0, 1]")
    result = result_of("softmax", p, cmp, message="; ".join(problems_found))
    if problems_found:
        result.status = "failed"
    if result.status == "failed":
        result.diagnosis = diagnose.softmax(y, p.x)
    return result


def _cross_entropy(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    if impl.cross_entropy is None:
        return skipped("cross_entropy", p, "cross_entropy")
    loss = xp.asarray(impl.cross_entropy(p.x, p.t))
    reduction = "none" if p.vector else cfg.reduction
    expected = functions.cross_entropy_via_logsumexp(p.x.astype(float), p.t.astype(float), reduction)
    rows = functions.cross_entropy_via_logsumexp(p.x.astype(float), p.t.astype(float), "none")
    noise = errormodel.value_error(loss_scales(p.x, p.t, rows), cfg.dtype, cfg.dim)[:, 0]
    atol = xp.sum(noise) * row_weight(p, cfg)
    cmp = Comparison()
    # The loss's yardstick: its size plus one nat per unit of target mass, per row.
    unit = xp.sum(xp.abs(rows) + xp.sum(xp.abs(p.t.astype(float)), axis=-1)) * row_weight(p, cfg)
    cmp.add(loss.reshape(expected.shape), expected, tolerance(atol, cfg, unit), lambda _: ())
    message = ""
    if xp.all(xp.isfinite(loss)) and float(loss.min()) < -float(atol):
        message = "negative loss for non-negative targets"
    result = result_of("cross_entropy", p, cmp, message=message)
    if message:
        result.status = "failed"
    diagnose_rows([result], lambda: diagnose.cross_entropy(loss, p.x, p.t, cfg.reduction, p.vector))
    return result


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
        return skipped("row_independence", p, "softmax, softmax_backward or cross_entropy_grad")
    changed = x.copy()
    changed[0] = xp.roll(x[0], 1) + 1
    r = errormodel.rtol(cfg.dtype, p.dim)
    cmp, mixing, raised = Comparison(), [], []
    for name, f in calls.items():
        try:
            before, after = xp.asarray(f(x))[1:], xp.asarray(f(changed))[1:]
        except Exception:  # a function that raises fails its own check; nothing to learn here
            raised.append(name)
            continue
        same = (before == after) | (xp.isnan(before) & xp.isnan(after))  # NaN stayed NaN: unchanged
        before, after = xp.where(same, 0, before), xp.where(same, 0, after)
        finite = before[xp.isfinite(before)]
        scale = r * float(xp.max(xp.abs(finite))) if finite.size else 0.0
        cmp.add(after, before, Tolerance(scale, r), lambda q, shape=before.shape: _shifted_row(q, shape))
        if not xp.allclose(after, before, rtol=r, atol=scale):
            mixing.append(name)
    if len(raised) == len(calls):
        return CheckResult("row_independence", p.scenario, "skipped", message="every function raised")
    result = result_of(
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
