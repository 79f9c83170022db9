"""The pieces every check is made of: results, tolerances, the method and step for a
function, chunk sizes, index mapping, and the guard that turns an implementation's
exception into a failed check."""

from __future__ import annotations

from smgrad import errormodel, numdiff, problems
from smgrad.backend import xp
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.impl import ImplementationError, describe
from smgrad.report import CheckResult


def guarded(name: str, p: problems.Problem, body) -> CheckResult:
    try:
        return body()
    except MemoryError:
        raise  # smgrad's own arrays did not fit: not the implementation's failure
    except Exception as e:  # an implementation that raises fails its check, never smgrad
        return error(name, p, e)


def error(name: str, p: problems.Problem, e: Exception) -> CheckResult:
    if isinstance(e, MemoryError):
        raise e
    message = str(e) if isinstance(e, ImplementationError) else f"raised {describe(e)}"
    return CheckResult(name, p.scenario, "error", message=message)


def skipped(name: str, p: problems.Problem, missing: str) -> CheckResult:
    return CheckResult(name, p.scenario, "skipped", message=f"the implementation defines no {missing}")


def index_of(shape: tuple[int, ...], vector: bool, layout=None):
    """Map a flat position in an array of ``shape`` to the user's index, dropping the
    batch axis (always axis 0 after ``layout``) for a 1-D problem."""

    def index_of(p: int) -> tuple[int, ...]:
        idx = tuple(int(i) for i in xp.unravel_index(p, shape))
        if layout is not None:
            idx = layout(idx)
        return idx[1:] if vector else idx

    return index_of


POWERLESS = (
    "no power: the allowed error is as large as the values themselves, so no wrong value could fail "
    "(a step, --atol or --rtol too large, or logits too large to differentiate)"
)


def result_of(name: str, p: problems.Problem, cmp: Comparison, method=None, step=None, message="") -> CheckResult:
    found = []
    if cmp.nonfinite_analytic:
        found.append(f"{cmp.nonfinite_analytic} non-finite values in the implementation's results")
    if cmp.nonfinite_numerical:
        found.append(f"{cmp.nonfinite_numerical} non-finite values in what they are compared with")
    status = "passed" if cmp.passed else "failed"
    if status == "passed" and cmp.powerless:
        status = "inconclusive"
        found.append(POWERLESS)
    message = "; ".join(filter(None, [*found, message]))
    return CheckResult(
        name=name,
        scenario=p.scenario,
        status=status,
        resolves=cmp.resolves,
        method=method,
        max_abs_error=cmp.max_abs_error,
        max_rel_error=cmp.max_rel_error,
        atol=cmp.max_atol,
        rtol=cmp.rtol,
        step=step,
        worst=cmp.failing if not cmp.passed else cmp.worst[:1],
        message=message,
    )


def tolerance(atol, cfg: Config, unit=None) -> Tolerance:
    """The model's ``atol`` and ``rtol`` unless the user overrides them; ``unit`` (shaped
    like ``atol``) is the size of the largest value the quantity can have, per row."""
    return Tolerance(atol, errormodel.rtol(cfg.dtype, cfg.dim), unit).overridden(cfg.atol, cfg.rtol)


def softmax_scales(x, y) -> errormodel.Scales:
    return errormodel.Scales.of(x, value=xp.max(xp.abs(y), axis=-1, keepdims=True), slope=1.0)


def choose_method(f, x, scales, cfg: Config) -> tuple[str, str]:
    """The method to use for ``f``, and a note when ``auto`` had to fall back."""
    if cfg.method != "auto":
        return cfg.method, ""
    fault = numdiff.complex_step_fault(f, x, scales)
    if fault is None:
        return "complex", ""
    return "richardson", f"complex step not usable: {fault}"


def step_for(method: str, scales, cfg: Config):
    if cfg.step is not None:
        return xp.full(scales.size.shape, cfg.step)
    return errormodel.default_step(method, scales, cfg.dtype, cfg.dim)


def chunk(p: problems.Problem, m: int, cfg: Config) -> int:
    itemsize = 2 * xp.dtype(cfg.dtype).itemsize  # complex step doubles it
    return numdiff.chunk_size(p.batch, p.dim, m, itemsize, cfg.max_memory // 4)


def diagnose_rows(rows: list[CheckResult], why) -> None:
    """Name the probable mistake on each failed row (computed once, only on failure)."""
    failed = [r for r in rows if r.status == "failed"]
    if failed:
        text = why()
        for r in failed:
            r.diagnosis = text


def loss_scales(x, t, losses) -> errormodel.Scales:
    return errormodel.Scales.of(x, value=xp.abs(losses)[:, None], slope=xp.sum(xp.abs(t), axis=-1, keepdims=True))


def row_weight(p: problems.Problem, cfg: Config) -> float:
    """d L / d (row loss): 1/B for mean reduction of a batch, else 1."""
    return 1.0 / p.batch if cfg.reduction == "mean" and not p.vector else 1.0


def jacobian_skip(impl, p: problems.Problem, cfg: Config) -> CheckResult | None:
    """A skipped ``softmax_jacobian`` when the user's whole ``(B, n, n)`` Jacobian would
    not fit in half of ``--max-memory``; None when it fits or is not needed."""
    size = p.batch * p.dim**2 * xp.dtype(cfg.dtype).itemsize
    if impl.softmax_jacobian is None or impl.softmax_jacobian_block is not None or size <= cfg.max_memory // 2:
        return None
    why = f"its (B, n, n) Jacobian takes {size / 2**20:.0f} MiB, over half of --max-memory"
    return CheckResult("softmax_jacobian", p.scenario, "skipped", message=why)


def softmax_derivative_rows(impl, p: problems.Problem, cfg: Config, run_pass, identities: CheckResult | None = None):
    """The ``softmax_jacobian``, ``softmax_backward`` and ``identities`` rows of a scenario:
    skipped where the implementation lacks the function (or its Jacobian is too large),
    else from ``run_pass(want_jac, want_vjp) -> {name: [rows]}``, or errors if that
    raises. ``identities`` replaces the identities row (fast mode leaves them out)."""
    names = ("softmax_jacobian", "softmax_backward", "identities")
    out: dict[str, list[CheckResult]] = {} if identities is None else {"identities": [identities]}
    want_jac = impl.softmax_jacobian is not None
    want_vjp = impl.softmax_backward is not None
    skip = jacobian_skip(impl, p, cfg)
    if skip is not None:
        out["softmax_jacobian"] = [skip]
        out.setdefault("identities", [CheckResult("identities", p.scenario, "skipped", message=skip.message)])
        want_jac = False
    elif not want_jac:
        out["softmax_jacobian"] = [skipped("softmax_jacobian", p, "softmax_jacobian")]
        out.setdefault("identities", [skipped("identities", p, "softmax_jacobian")])
    if not want_vjp:
        out["softmax_backward"] = [skipped("softmax_backward", p, "softmax_backward")]
    if want_jac or want_vjp:
        try:
            out.update(run_pass(want_jac, want_vjp))
        except Exception as e:
            for name in names:
                out.setdefault(name, [error(name, p, e)])
    return [r for name in names for r in out[name]]
