"""The numbers behind ``smgrad sweep``: the error of each numerical method against the
step size, for the softmax Jacobian or the cross-entropy gradient.

A real-step method's error is truncation (falling as h^p) plus rounding (rising as
eps / h): on a log-log plot, a "V" whose bottom sits near ``eps^(1/(p+1))``. The complex
step has no subtraction, so its error stays at rounding level for any small step, until
the step itself underflows. Errors are measured against the seed's formulas evaluated in
float64, so what is shown is the error of the numerical method alone.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from smgrad import analytic, bounds, functions, numdiff, problems
from smgrad.backend import eps, quietly, tiny, xp
from smgrad.impl import Implementation, reference

TARGETS = ("softmax_jacobian", "cross_entropy_grad")


@dataclass(frozen=True)
class MethodSweep:
    """One method's errors over the steps tried.

    ``errors`` are the largest ``|numerical - exact|`` over all entries, divided by the
    largest ``|exact|`` (so 1e-16 is rounding-level and 1 is useless); inf where the step
    gave no usable number (``x + h == x``, an underflowed step, a complex-unsafe function).
    """

    method: str
    order: int
    steps: list[float]
    errors: list[float]
    default_step: float
    theory_step: float | None

    @property
    def best(self) -> tuple[float, float]:
        """(step, error) with the smallest error."""
        i = min(range(len(self.errors)), key=lambda k: self.errors[k])
        return self.steps[i], self.errors[i]

    @property
    def default_tried(self) -> float:
        """The step tried nearest (on a log scale) to the default step."""
        return min(self.steps, key=lambda h: abs(math.log(h / self.default_step)))

    @property
    def default_error(self) -> float:
        """The error at :attr:`default_tried`."""
        return self.errors[self.steps.index(self.default_tried)]


@dataclass(frozen=True)
class Sweep:
    target: str
    dtype: str
    dim: int
    seed: int
    implementation: str
    note: str
    methods: list[MethodSweep]

    @property
    def floor(self) -> int:
        """A power of ten below the dtype's rounding: where a plot of errors starts."""
        return math.floor(math.log10(eps(self.dtype))) - 1

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "dtype": self.dtype,
            "dim": self.dim,
            "seed": self.seed,
            "implementation": self.implementation,
            "note": self.note,
            "methods": [
                {
                    "method": m.method,
                    "order": m.order,
                    "steps": m.steps,
                    "errors": [e if math.isfinite(e) else None for e in m.errors],
                    "best_step": m.best[0],
                    "best_error": m.best[1] if math.isfinite(m.best[1]) else None,
                    "default_step": m.default_step,
                    "theory_step": m.theory_step,
                }
                for m in self.methods
            ],
        }


def steps_for(method: str, dtype) -> list[float]:
    """1e-1 down to 1e-16 a decade at a time; for the complex step on down to steps near
    the smallest normal number of the dtype."""
    steps = [10.0**-k for k in range(1, 17)]
    if method == "complex":
        smallest = -int(math.log10(tiny(dtype))) - 2  # 305 in float64, 35 in float32
        steps += [10.0**-k for k in (20, 30, 50, 100, 150, 200, 250, 300) if k <= smallest]
        steps += [] if smallest >= 300 else [10.0**-smallest]
    return steps


def theory_step(method: str, dtype) -> float | None:
    """The textbook optimum ``eps^(1/(p+1))`` of a real-step method of order p."""
    if method == "complex":
        return None
    return eps(dtype) ** (1 / (bounds.RULES[method].order + 1))


def sweep(
    target: str = "softmax_jacobian",
    dim: int = 10,
    seed: int = 0,
    dtype: str = "float64",
    methods: tuple[str, ...] = bounds.METHODS,
    impl: Implementation | None = None,
    scale: float = 2.0,
    scenario: str = "typical",
    reduction: str = "mean",
) -> Sweep:
    """Errors of each method at each step, on one vector of the scenario."""
    impl = impl or reference(reduction)
    p = problems.make_problem(scenario, dim, None, xp.dtype(dtype), seed, scale)
    x, t = p.x, p.t
    y = functions.softmax(x)
    if target == "softmax_jacobian":
        f = impl.softmax or functions.softmax
        exact = analytic.softmax_jacobian(x.astype(float))  # (1, n, n)
        scales = bounds.Scales.of(x, value=xp.max(y, axis=-1, keepdims=True), slope=1.0)
    else:
        losses = impl.row_losses or reference(reduction).row_losses

        def f(X):
            return xp.asarray(losses(X, xp.tile(t, (X.shape[0], 1))))[:, None]

        exact = analytic.cross_entropy_grad(x.astype(float), t.astype(float), "none")[:, None, :]  # (1, 1, n)
        scales = bounds.Scales.of(
            x, value=xp.abs(functions.cross_entropy(x, t, "none"))[:, None], slope=xp.sum(t, -1, keepdims=True)
        )
    fault = numdiff.complex_step_fault(f, x, scales)
    note = f"complex step not usable: {fault}" if fault else ""
    size = float(xp.max(xp.abs(exact)))
    results = []
    for method in methods:
        errors = [_error(f, x, method, h, exact, size) for h in steps_for(method, x.dtype)]
        results.append(
            MethodSweep(
                method=method,
                order=bounds.RULES[method].order,
                steps=steps_for(method, x.dtype),
                errors=errors,
                default_step=float(bounds.default_step(method, scales, dtype, dim)[0, 0]),
                theory_step=theory_step(method, x.dtype),
            )
        )
    return Sweep(target, dtype, dim, seed, impl.name, note, results)


def _error(f, x, method: str, h: float, exact, size: float) -> float:
    try:
        with warnings.catch_warnings(), quietly():
            warnings.simplefilter("ignore")
            D = next(numdiff.jacobian_columns(f, x, method, xp.full((1, 1), h), x.shape[-1]))[1]
    except Exception:  # a complex-unsafe function, say: no number at this step
        return math.inf
    numerical = xp.moveaxis(D, 0, -1).astype(float)  # (1, m, n)
    error = float(xp.max(xp.abs(numerical - exact))) / size
    return error if math.isfinite(error) else math.inf
