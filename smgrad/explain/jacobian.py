"""The numbers behind ``smgrad jacobian``: for one small logit vector, the analytic and
numerical softmax Jacobians, their difference, and the structure the seed predicts,
each fact checked on the *numerical* Jacobian against its error bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smgrad import analytic, bounds, functions, numdiff, problems
from smgrad.backend import xp
from smgrad.config import max_scale
from smgrad.errors import UsageError, opt


@dataclass(frozen=True)
class Fact:
    """A structural claim, the largest deviation seen and what rounding allows."""

    claim: str
    deviation: float
    allowed: float

    @property
    def holds(self) -> bool:
        return self.deviation <= self.allowed


@dataclass(frozen=True)
class JacobianView:
    x: object
    y: object
    analytic: object
    numerical: object
    method: str
    step: float
    bound: float
    rtol: float
    facts: list[Fact]

    @property
    def powerless(self) -> bool:
        """The error bound is as large as softmax's derivatives can be (slope 1): no
        entry could have been told wrong, so agreement means nothing."""
        return not self.bound + self.rtol < 1.0

    @property
    def passed(self) -> bool:
        """The Jacobians agree within an error bound that has power, and every
        structural fact holds."""
        allowed = self.bound + self.rtol * xp.abs(self.numerical)
        agree = bool(xp.all(xp.abs(self.difference) <= allowed))
        return agree and not self.powerless and all(f.holds for f in self.facts)

    @property
    def difference(self):
        return self.analytic - self.numerical

    @property
    def worst(self) -> tuple[int, int]:
        i, j = xp.unravel_index(xp.argmax(xp.abs(self.difference)), self.difference.shape)
        return int(i), int(j)

    def to_dict(self) -> dict:
        i, j = self.worst
        return {
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "method": self.method,
            "step": self.step,
            "bound": self.bound,
            "rtol": self.rtol,
            "passed": self.passed,
            "powerless": self.powerless,
            "analytic": self.analytic.tolist(),
            "numerical": self.numerical.tolist(),
            "difference": self.difference.tolist(),
            "worst": {"index": [i, j], "error": float(abs(self.difference[i, j]))},
            "facts": [
                {"claim": f.claim, "deviation": f.deviation, "allowed": f.allowed, "holds": f.holds} for f in self.facts
            ],
        }


def jacobian_view(
    dim: int = 5,
    seed: int = 0,
    dtype: str = "float64",
    method: str = "auto",
    scenario: str = "typical",
    step: float | None = None,
    scale: float = 2.0,
) -> JacobianView:
    """Analytic and numerical Jacobians of softmax at one random vector of a scenario.
    Raises :class:`UsageError` for a scale whose logits cannot be differentiated."""
    if scale > max_scale(dtype):
        raise UsageError(
            f"{opt('scale')} {scale:g} is over {max_scale(dtype):.2g}, beyond which no numerical derivative of "
            f"softmax in {dtype} can be resolved (one rounding of a logit exceeds 1)"
        )
    p = problems.make_problem(scenario, dim, None, xp.dtype(dtype), seed, scale)
    x = p.x
    y = functions.softmax(x)
    scales = bounds.Scales.of(x, value=xp.max(y, axis=-1, keepdims=True), slope=1.0)
    if method == "auto":
        method = "complex" if numdiff.complex_step_fault(functions.softmax, x, scales) is None else "richardson"
    h = bounds.default_step(method, scales, dtype, dim) if step is None else xp.full((1, 1), step)
    numerical = numdiff.jacobian(functions.softmax, x, method, h)[0].astype(float)
    exact = analytic.softmax_jacobian(x[0]).astype(float)
    bound = float(bounds.bound(method, h, scales, dtype, dim)[0, 0])
    rtol = bounds.rtol(dtype, dim)
    yv = y[0].astype(float)
    symmetric_part = (numerical + numerical.T) / 2
    facts = [
        Fact("J is symmetric (J = Jᵀ)", float(xp.max(xp.abs(numerical - numerical.T))), 2 * bound),
        Fact("rows sum to 0 (J·1 = 0)", float(xp.max(xp.abs(numerical.sum(axis=1)))), dim * bound + rtol),
        Fact("columns sum to 0 (1ᵀJ = 0)", float(xp.max(xp.abs(numerical.sum(axis=0)))), dim * bound + rtol),
        Fact("diagonal is y(1−y)", float(xp.max(xp.abs(xp.diag(numerical) - yv * (1 - yv)))), bound + rtol),
        Fact("off-diagonal is −y_i·y_j", float(xp.max(xp.abs(_offdiag(numerical + xp.outer(yv, yv))))), bound + rtol),
        Fact(
            "positive semi-definite (smallest eigenvalue ≥ 0)",
            _negative_eigenvalue(symmetric_part),
            dim * bound + rtol,
        ),
    ]
    return JacobianView(
        x=x[0].astype(float),
        y=yv,
        analytic=exact,
        numerical=numerical,
        method=method,
        step=float(h.max()),
        bound=bound,
        rtol=rtol,
        facts=facts,
    )


def _negative_eigenvalue(a) -> float:
    """How far below 0 the smallest eigenvalue of symmetric ``a`` is; inf where it cannot
    be had (non-finite entries), so that the fact fails rather than smgrad."""
    if not xp.all(xp.isfinite(a)):
        return math.inf
    try:
        return float(max(0.0, -xp.linalg.eigvalsh(a)[0]))
    except xp.linalg.LinAlgError:
        return math.inf


def _offdiag(a):
    return a - xp.diag(xp.diag(a))
