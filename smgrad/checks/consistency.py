"""Before a derivative is blamed, the function it was compared with is shown consistent
over the inputs that produced it. The numerical gradient is taken of the loss of each row
called alone (a batch of one), so that loss must be right, not only the batch's; and a
gradient must be right on a batch of one, not only on the batch drawn (a gradient divided
by ``n`` is right when ``B = n``). Where one is not, the function itself fails, with its
own message, and the right function is not blamed."""

from __future__ import annotations

from smgrad import analytic, bounds, diagnose, problems
from smgrad.backend import xp
from smgrad.checks.measure import index_of, tolerance
from smgrad.checks.outcome import measured
from smgrad.compare import Comparison
from smgrad.config import Config
from smgrad.impl import Implementation
from smgrad.report import CheckResult


def loss_alone(impl: Implementation, p: problems.Problem, cfg: Config, truth, noise) -> CheckResult | None:
    """The loss of each row called alone (a batch of one), which is what the gradient's
    numerical derivative is taken of, against the ``truth`` per row: a failed
    ``cross_entropy`` result where it is wrong, else None. A loss right only on batches (a
    squeeze that makes one row a vector) would otherwise blame a right gradient."""
    if p.vector or impl.row_losses is None:
        return None
    alone = xp.asarray(impl.row_losses(p.x, p.t), dtype=float)
    cmp = Comparison()
    unit = xp.abs(truth) + xp.sum(xp.abs(p.t.astype(float)), axis=-1)
    cmp.add(alone.reshape(truth.shape), truth, tolerance(noise, cfg, unit), lambda q: (int(q),))
    if cmp.passed:
        return None
    message = "right on the batch, wrong on a row alone (a batch of one: what its gradient is checked against)"
    why = diagnose.row_loss(alone.reshape(truth.shape), truth, p.dim, p.x.dtype)
    return measured("cross_entropy", p, cmp, message=message, violated=True, diagnosis=why)


def gradient_alone(impl: Implementation, p: problems.Problem, cfg: Config, scales) -> CheckResult | None:
    """The gradient of row 0 called alone (a batch of one) against the seed's formula: a
    failed ``reference`` result where it is wrong, else None."""
    if p.vector or p.batch < 2:
        return None
    x, t = p.x[:1], p.t[:1]
    values = xp.asarray(impl.cross_entropy_grad(x, t))
    expected = analytic.cross_entropy_grad(x.astype(float), t.astype(float), cfg.reduction)
    first = bounds.Scales(value=scales.value[:1], slope=scales.slope[:1], size=scales.size[:1])
    cmp = Comparison()
    cmp.add(
        values,
        expected,
        tolerance(bounds.value_bound(first, cfg.dtype, p.dim), cfg, first.slope),
        index_of(values.shape, False),
    )
    if cmp.passed:
        return None
    why = diagnose.gradient_alone(values, x, t)
    message = "right on the batch, wrong on a batch of one (row 0 alone)"
    return measured("cross_entropy_grad", p, cmp, "reference", message=message, violated=True, diagnosis=why)
