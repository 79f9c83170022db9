"""The numbers behind ``smgrad derive``: the seed's derivation, line by line, each line
evaluated on a random sample, so that every step is seen to hold (or, where it needs
``sum(t) = 1`` and the targets do not sum to one, seen not to).

A derivation is a list of chains. A chain starts from a value computed independently
(numerically, by complex step, or by smgrad's stable softmax) and each following line
rewrites the previous one; a line holds when its value equals the previous line's to
rounding. :func:`evaluate` does the checking, so a wrong line is caught by numbers, not
by reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smgrad import bounds, functions, numdiff
from smgrad.backend import eps, generator, quietly, xp


@dataclass(frozen=True)
class Sample:
    """One random vector of logits ``x`` with targets ``t``; ``J`` and ``grad`` are the
    complex-step Jacobian of softmax and gradient of the loss, the independent truth."""

    x: object
    t: object
    J: object
    grad: object

    @property
    def y(self):
        return functions.softmax(self.x)

    @property
    def e(self):
        return xp.exp(self.x)

    @property
    def s(self):
        return xp.sum(xp.exp(self.x))


@dataclass(frozen=True)
class Step:
    """One line: its formula, why it follows from the line before, and its value."""

    formula: str
    reason: str
    value: Callable[[Sample], object]
    assumes_unit_sum: bool = False


@dataclass(frozen=True)
class Line:
    step: Step
    value: object
    difference: float | None  # to the previous line; None for a chain's first line
    allowed: float | None

    @property
    def holds(self) -> bool:
        return self.difference is None or self.difference <= self.allowed


@dataclass(frozen=True)
class Chain:
    title: str
    lines: list[Line]


def _offdiag(a):
    return a - xp.diag(xp.diag(a))


def _split_sum(s: Sample, term: Callable[[Sample], object]):
    """``(diagonal term, sum over i != k)`` of a matrix of terms ``[i, k]``."""
    m = term(s)
    return xp.diag(m), xp.sum(_offdiag(m), axis=0)


def derivation() -> list[tuple[str, list[Step]]]:
    """The seed's derivation: softmax, the two Jacobian cases, the cross-entropy gradient."""
    softmax = [
        Step("y_i = softmax(x)_i", "smgrad's stable softmax (max shift)", lambda s: s.y),
        Step("y_i = e^x_i / Σ_k e^x_k", "the definition", lambda s: s.e / s.s),
    ]
    diagonal = [
        Step("∂y_i/∂x_i", "complex step", lambda s: xp.diag(s.J)),
        Step(
            "= (e^x_i·Σ_k e^x_k − e^x_i·e^x_i) / (Σ_k e^x_k)²",
            "quotient rule, i = j",
            lambda s: (s.e * s.s - s.e**2) / s.s**2,
        ),
        Step("= e^x_i/Σ_k e^x_k − (e^x_i/Σ_k e^x_k)²", "split the fraction", lambda s: s.e / s.s - (s.e / s.s) ** 2),
        Step("= y_i − y_i²", "definition of y", lambda s: s.y - s.y**2),
        Step("= y_i (1 − y_i)", "factor out y_i", lambda s: s.y * (1 - s.y)),
    ]
    off_diagonal = [
        Step("∂y_i/∂x_j, i ≠ j", "complex step", lambda s: _offdiag(s.J)),
        Step("= −e^x_j·e^x_i / (Σ_k e^x_k)²", "quotient rule, i ≠ j", lambda s: _offdiag(-xp.outer(s.e, s.e) / s.s**2)),
        Step("= −y_i y_j", "definition of y", lambda s: _offdiag(-xp.outer(s.y, s.y))),
    ]
    gradient = [
        Step("∂L/∂x_k,  L = −Σ_i t_i log y_i", "complex step", lambda s: s.grad),
        Step("= Σ_i ∂L/∂y_i · ∂y_i/∂x_k", "chain rule (∂y/∂x by complex step)", lambda s: (-s.t / s.y) @ s.J),
        Step("= −Σ_i (t_i/y_i) ∂y_i/∂x_k", "∂L/∂y_i = −t_i/y_i", lambda s: -(s.t / s.y) @ s.J),
        Step(
            "= −(t_k/y_k) ∂y_k/∂x_k − Σ_{i≠k} (t_i/y_i) ∂y_i/∂x_k",
            "split i = k from i ≠ k",
            lambda s: _sum_of(_split_sum(s, lambda s: -(s.t / s.y)[:, None] * s.J)),
        ),
        Step(
            "= −(t_k/y_k)(y_k − y_k²) − Σ_{i≠k} (t_i/y_i)(−y_i y_k)",
            "the two Jacobian cases",
            lambda s: -(s.t / s.y) * (s.y - s.y**2) + xp.sum(_offdiag((s.t / s.y)[:, None] * xp.outer(s.y, s.y)), 0),
        ),
        Step(
            "= −t_k (1 − y_k) + Σ_{i≠k} t_i y_k",
            "cancel y_i and y_k",
            lambda s: -s.t * (1 - s.y) + (xp.sum(s.t) - s.t) * s.y,
        ),
        Step("= −t_k + Σ_i t_i y_k", "t_k y_k joins the sum", lambda s: -s.t + xp.sum(s.t) * s.y),
        Step("= y_k − t_k", "Σ_i t_i = 1", lambda s: s.y - s.t, assumes_unit_sum=True),
    ]
    return [
        ("softmax", softmax),
        ("Jacobian, i = j", diagonal),
        ("Jacobian, i ≠ j", off_diagonal),
        ("cross-entropy gradient", gradient),
    ]


GENERAL = Step("= y_k Σ_i t_i − t_k", "the general form, any Σ_i t_i", lambda s: xp.sum(s.t) * s.y - s.t)


def _sum_of(parts):
    diagonal, rest = parts
    return diagonal + rest


def sample(dim: int = 4, seed: int = 0, targets: str = "onehot", target_sum: float = 1.0, scale: float = 2.0) -> Sample:
    """A random float64 vector and targets; the truth lines come from complex steps."""
    rng = generator(seed, 7)
    x = scale * rng.standard_normal(dim)
    if targets == "soft":
        t = rng.dirichlet(xp.ones(dim))
    else:
        t = xp.zeros(dim)
        t[rng.integers(0, dim)] = 1.0
    t = t * target_sum
    rows = x[None]
    cols = [D for _, D in numdiff.jacobian_columns(functions.softmax, rows, "complex", xp.full((1, 1), 1e-20), dim)]
    J = xp.concatenate(cols, axis=0)[:, 0, :].T

    def loss(X):
        return functions.cross_entropy(X, xp.tile(t, (X.shape[0], 1)), "none")[:, None]

    grads = [D for _, D in numdiff.jacobian_columns(loss, rows, "complex", xp.full((1, 1), 1e-20), dim)]
    grad = xp.concatenate(grads, axis=0)[:, 0, 0]
    return Sample(x=x, t=t, J=J, grad=grad)


def _allowed(previous, value, s: Sample) -> float:
    """Rounding of two float64 evaluations of sizes like these, with terms up to t/y."""
    size = float(xp.max(xp.abs(previous)) + xp.max(xp.abs(value)))
    terms = float(xp.max(xp.abs(s.t / s.y))) if s.t.size else 0.0
    return bounds.kappa(s.x.size) * eps(xp.float64) * (size + terms * float(xp.max(s.y)) + 1.0) * 4


def evaluate(chains: list[tuple[str, list[Step]]], s: Sample) -> list[Chain]:
    """Every line's value on ``s`` and its difference to the line before."""
    out = []
    for title, steps in chains:
        lines: list[Line] = []
        for step in steps:
            with quietly():
                value = xp.asarray(step.value(s), dtype=float)
            if lines:
                previous = lines[-1].value
                difference = float(xp.max(xp.abs(value - previous)))
                lines.append(Line(step, value, difference, _allowed(previous, value, s)))
            else:
                lines.append(Line(step, value, None, None))
        out.append(Chain(title, lines))
    return out


@dataclass(frozen=True)
class Derivation:
    """The derivation evaluated on the sample ``x``, ``t`` drawn from ``seed``."""

    x: object
    t: object
    seed: int
    chains: list[Chain]

    @property
    def passed(self) -> bool:
        """Every line holds that should: only a step that needs Σt = 1 may fail, where
        the targets do not sum to one."""
        return all(line.holds or line.step.assumes_unit_sum for c in self.chains for line in c.lines)

    def to_dict(self) -> dict:
        return {
            "x": [float(v) for v in self.x],
            "t": [float(v) for v in self.t],
            "passed": self.passed,
            "chains": [
                {
                    "title": c.title,
                    "lines": [
                        {
                            "formula": line.step.formula,
                            "reason": line.step.reason,
                            "value": line.value.tolist(),
                            "difference": line.difference,
                            "allowed": line.allowed,
                            "holds": line.holds,
                            "assumes_unit_sum": line.step.assumes_unit_sum,
                        }
                        for line in c.lines
                    ],
                }
                for c in self.chains
            ],
        }


def derive(dim: int = 4, seed: int = 0, targets: str = "onehot", target_sum: float = 1.0) -> Derivation:
    """The seed's derivation on a sample; where Σt ≠ 1 the general form is added after
    the step that needs Σt = 1, and follows from the line before that step."""
    s = sample(dim, seed, targets, target_sum)
    chains = evaluate(derivation(), s)
    gradient = chains[-1]
    last = gradient.lines[-1]
    if not last.holds and last.step.assumes_unit_sum:
        before = gradient.lines[-2]
        value = xp.asarray(GENERAL.value(s), dtype=float)
        difference = float(xp.max(xp.abs(value - before.value)))
        gradient.lines.append(Line(GENERAL, value, difference, _allowed(before.value, value, s)))
    return Derivation(s.x, s.t, seed, chains)
