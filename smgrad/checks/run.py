"""Which checks run on what: every check in every scenario of a run, as an immutable
:class:`Report`. Prints nothing.

Checks, in the order they are reported:

* ``softmax``, ``cross_entropy``   the forwards against the truth (:mod:`.values`);
* ``softmax_jacobian``, ``softmax_backward``  derivatives against numerical ones
                                   (:mod:`.softmax_pass`), and
* ``cross_entropy_grad``, ``cross_entropy_hessian``  likewise (:mod:`.derivatives`),
                                   probed as the mode's plan says (:mod:`.probes`);
* ``row_independence``             changing one row changes no other (:mod:`.values`);
* ``stateless``                    results depend only on arguments (:mod:`.consistency`);
* ``identities``                   the seed's identities on ``J`` (:mod:`.identities`).

Derivatives are compared with the numerical derivative of the implementation's own
forward where it has one that passed, so a forward bug and a backward bug are told apart.
Once a scenario's results are in, what the watcher noted (an input changed in place, a
wrong dtype) and what one result says of another (a Hessian inherits its gradient's
cause; a failure in the ``overflow`` scenario alone is an overflowing ``exp``) are
applied in one pass, making new results (:mod:`.inferred`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping

from smgrad import diagnose, inblocks, problems
from smgrad.checks import consistency, derivatives, effective, inferred, probes, softmax_pass, stored, values
from smgrad.checks.outcome import guarded, merged, skipped
from smgrad.config import Config
from smgrad.impl import Implementation, reference
from smgrad.precision import is_low
from smgrad.report import CheckResult, Report

CHECKS = (
    "softmax",
    "softmax_jacobian",
    "softmax_backward",
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_hessian",
    "row_independence",
    "stateless",
    "identities",
)


def run(config: Config, impl: Implementation | None = None, on_scenario: Callable | None = None) -> Report:
    """Run every check in every scenario of ``config`` on ``impl`` (default: the reference).
    ``on_scenario()`` is called after each scenario (for a progress bar)."""
    low = config.dtype if is_low(config.dtype) else None
    ref = reference(config.reduction, config.ignore_index is not None)
    impl = impl or ref
    found = effective.measure(impl, config)
    judged = dataclasses.replace(config, dtype=found.judged)
    results: list[CheckResult] = []

    def problem(scenario: str) -> problems.Problem:
        p = problems.make_problem(
            scenario,
            config.dim,
            config.batch,
            config.dtype,
            config.seed,
            config.scale,
            config.targets,
            config.label_smoothing,
            config.target_sum,
            config.ignore_index,
            config.reduction,
        )
        if found.judged != config.dtype:  # float32 numbers, given as float64
            p = problems.values_in(p, found.judged, p.x.dtype)
        return p

    for p in inblocks.ahead(problem, config.scenarios):
        with impl.storing(low), ref.storing(low):
            results += _scenario(impl, ref, p, judged, found)
        del p  # before the one after the next is drawn: at 1024 x 262144 a problem is 1 GiB
        if on_scenario is not None:
            on_scenario()
    ordered = sorted(results, key=lambda r: CHECKS.index(r.name))  # stable: scenarios stay in order
    overflow = inferred.overflow_only(ordered)
    labelled = [
        dataclasses.replace(
            r,
            dim=config.dim,
            seed=config.seed,
            dtype=config.dtype,
            diagnosis=(r.diagnosis or diagnose.OVERFLOW) if i in overflow else r.diagnosis,
            message=_derived(impl, r),
        )
        for i, r in enumerate(ordered)
    ]
    return Report(
        config, labelled, impl.name, hints=inferred.hints(labelled, config), arrays=impl.arrays, precision=(found,)
    )


def _derived(impl: Implementation, r: CheckResult) -> str:
    """The result's message, saying first that the backward checked is autograd's."""
    derived = impl.derived.get(r.name)
    if derived is None or r.method == "reference" or r.status == "skipped":
        return r.message
    return "; ".join(filter(None, [derived, r.message]))


def run_all(
    configs: list[Config],
    impl: Implementation | None = None,
    progress: Callable | None = None,
    cases: list = (),
    vector: Implementation | None = None,
    covered: tuple[str, ...] = (),
) -> Report:
    """One combined report of several runs (dims x seeds x dtypes), in run order, then
    the extra ``cases`` of a default run (:mod:`smgrad.coverage`), whose results carry
    their case's name; a 1-D case runs on ``vector``. ``progress(done, total)`` is
    called after each scenario of each run."""
    total = sum(len(c.scenarios) for c in configs) + sum(len(case.config.scenarios) for case in cases)
    done = 0

    def step():
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    reports = [run(config, impl, step) for config in configs]
    first = reports[0]
    hints = tuple(dict.fromkeys(h for report in reports for h in report.hints))
    results = [r for report in reports for r in report]
    for case in cases:
        extra = run(case.config, vector if case.config.batch is None else impl, step)
        results += [dataclasses.replace(r, covers=case.covers) for r in extra]
    precision = tuple(dict.fromkeys(found for report in reports for found in report.precision))
    return Report(
        first.config,
        results,
        first.implementation,
        list(configs),
        hints=hints,
        covered=covered,
        arrays=first.arrays,
        precision=precision,
    )


def _scenario(
    impl: Implementation, ref: Implementation, p: problems.Problem, cfg: Config, found: effective.Precision
) -> list[CheckResult]:
    q, plan = probes.plan(p, cfg.resolved_mode, cfg.seed, sample=cfg.method == "auto")
    with impl.observe() as seen, warnings.catch_warnings():
        # Overflow in an implementation's exp is judged by its results, not its warnings.
        warnings.simplefilter("ignore", RuntimeWarning)
        (softmax,) = guarded(("softmax",), p, lambda: [values.softmax(impl, p, cfg)])
        own = cfg.loss_reference == "none"  # a loss that is not the seed's: no formula to compare with
        if own:
            (loss,) = [
                skipped("cross_entropy", p, f"{NO_REFERENCE}; its values are what its gradient is checked against")
            ]
        else:
            (loss,) = guarded(("cross_entropy",), p, lambda: [values.cross_entropy(impl, p, cfg)])
        # Derivatives are checked against the numerical derivative of the implementation's
        # own forward, unless that forward is itself wrong here: differentiating a wrong
        # (or NaN) forward would blame a correct backward for the forward's bug.
        forwards = (
            _trusted(seen.notes, impl.softmax, softmax) or ref.softmax,
            (impl.row_losses if own else _trusted(seen.notes, impl.row_losses if impl.cross_entropy else None, loss))
            or ref.row_losses,
            _basis_note(impl, seen.notes, impl.softmax, softmax),
            _basis_note(impl, seen.notes, impl.cross_entropy, loss),
        )
        ordered = impl.forward_first()  # each backward after its forward, as in training
        if is_low(cfg.dtype):
            with ref.storing(None):  # the reference's forward, where it stands in, as the implementation's
                softmax_rows, loss_rows = _differentiated(ordered, forwards, q, cfg, plan, found.differentiated)
            softmax_rows = merged(softmax_rows, stored.softmax_derivatives(ordered, q, cfg, plan))
            loss_rows = loss_rows if own else merged(loss_rows, stored.cross_entropy_grad(ordered, q, cfg))
        else:
            softmax_rows, loss_rows = _derivative_rows(ordered, forwards, q, cfg, plan)
        results = [
            softmax,
            *softmax_rows,
            loss,
            *loss_rows,
            # On the rows the derivatives are taken on (all of them in full mode): there,
            # rows must not mix and results must not depend on earlier calls.
            *plan.in_batch(guarded(("row_independence",), q, lambda: [values.row_independence(ordered, q, cfg)])),
            *plan.in_batch(guarded(("stateless",), q, lambda: [consistency.stateless(impl, q, cfg)])),
        ]
        notes = seen.notes
    return [inferred.with_notes(notes, r, cfg.allow_inplace) for r in inferred.hessian_follows_gradient(results)]


def _derivative_rows(impl, forwards, q, cfg: Config, plan, versus_reference: bool = True):
    """The softmax's derivative rows and the loss's, differentiating ``forwards``."""
    own_softmax, own_losses, softmax_basis, loss_basis = forwards
    softmax_rows = plan.in_batch(
        softmax_pass.softmax_derivatives(impl, own_softmax, q, cfg, plan, softmax_basis, versus_reference)
    )
    seed = cfg.loss_reference == "seed"
    grad = derivatives.cross_entropy_grad(impl, own_losses, q, cfg, plan, loss_basis, versus_reference and seed)
    if seed:
        hessian = guarded(
            ("cross_entropy_hessian",), q, lambda: [derivatives.cross_entropy_hessian(impl, q, cfg, plan)]
        )
    else:
        hessian = [skipped("cross_entropy_hessian", q, f"{NO_REFERENCE}: its Hessian is not the seed's")]
    return softmax_rows, [*plan.in_batch(grad), *plan.in_batch(hessian)]


NO_REFERENCE = "no reference: the loss is not the seed's cross-entropy (loss_reference none)"


def _differentiated(impl, forwards, q, cfg: Config, plan, dtype: str | None):
    """A low-precision run's derivative rows differentiated in ``dtype``, the highest
    precision the implementation takes, on the same (rounded) values; skipped where it
    takes none."""
    if dtype is None:
        why = (
            f"the implementation takes no float32 or float64: its {cfg.dtype} derivatives are compared "
            "with the seed's formulas only"
        )
        softmax = [skipped(name, q, why) for name in softmax_pass.SOFTMAX_ROWS]
        return softmax, [skipped(name, q, why) for name in ("cross_entropy_grad", "cross_entropy_hessian")]
    at = dataclasses.replace(cfg, dtype=dtype)
    with impl.storing(None):
        return _derivative_rows(impl, forwards, problems.values_in(q, dtype, dtype), at, plan, versus_reference=False)


def _trusted(notes: Mapping, function, forward: CheckResult):
    """The implementation's forward if it has one whose values passed their check, else
    None. What the watcher noted (a dtype, an input changed in place) fails the forward's
    own check, but its values are right and are what its derivatives must match."""
    ok = forward.status == "passed"
    return function if function is not None and ok else None


def _basis_note(impl: Implementation, notes: Mapping, function, forward: CheckResult) -> str:
    if impl.is_reference or function is None or _trusted(notes, function, forward):
        return ""
    return f"differentiated the reference {forward.name}, as the implementation's {forward.name} is wrong here"
