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
from smgrad.checks.outcome import measured, missing, skipped
from smgrad.checks.probes import NUMERICAL_ENTRIES
from smgrad.compare import Comparison, Tolerance
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


# The whole Jacobian is asked for four times or more here, and compared twice: up to as
# many entries as a full check differentiates every column of (at n = 1000 it took 48 ms
# of a 140 ms check; a state kept between calls shows in the backward too).
JACOBIAN_ENTRIES = NUMERICAL_ENTRIES
STALE = "results depend on an earlier call at another input: a value is kept between calls (a cached forward?)"


def stateless(impl: Implementation, p: problems.Problem, cfg: Config) -> CheckResult:
    """Results depend only on arguments: each function at an input ``B`` gives the same
    after every function has run at another input ``A`` as it did fresh. A layer whose
    backward reuses the output its forward cached "whenever the shapes match" passes
    every check that happens to call them in a matching order; here the order is set. A
    layer that needs its forward first passes if it checks the input it is given (and
    recomputes, or refuses, when it differs)."""
    t, g = p.t, p.g
    calls = {
        "softmax": impl.softmax and (lambda X: impl.softmax(X)),
        "softmax_jacobian": impl.softmax_jacobian and (lambda X: impl.softmax_jacobian(X)),
        "softmax_backward": impl.softmax_backward and (lambda X: impl.softmax_backward(X, g)),
        "cross_entropy": impl.cross_entropy and (lambda X: impl.cross_entropy(X, t)),
        "cross_entropy_grad": impl.cross_entropy_grad and (lambda X: impl.cross_entropy_grad(X, t)),
    }
    if p.batch * p.dim**2 > JACOBIAN_ENTRIES:
        calls["softmax_jacobian"] = None  # a whole (B, n, n) J, called a dozen times: only where it is small
    calls = {name: f for name, f in calls.items() if f is not None}
    if not calls:
        return missing("stateless", p, "any of the five functions")
    a, b = p.x, (xp.roll(p.x, 1, axis=-1) * 0.5).astype(p.x.dtype)
    fresh = _each(calls, b)
    r = bounds.rtol(cfg.dtype, p.dim)
    cmp, stale = Comparison(power=False), []
    for name, f in calls.items():
        if name not in fresh:
            continue
        _each(calls, a)  # every function at A: whatever they keep is now A's
        try:
            again = xp.asarray(f(b))
        except Exception:
            continue  # a layer may refuse a backward out of order; refusing is not a wrong value
        before = fresh[name].reshape(again.shape) if fresh[name].size == again.size else None
        if before is None:
            stale.append(name)
            continue
        scale = float(xp.max(xp.abs(before))) if before.size else 0.0
        cmp.add(again, before, Tolerance(r * scale, r), index_of(again.shape, p.vector or again.ndim == 0))
        if not xp.allclose(again, before, rtol=r, atol=r * scale, equal_nan=True):
            stale.append(name)
    if not fresh:
        return skipped("stateless", p, "every function raised")
    message = f"after the other functions ran at another input, {', '.join(stale)} changed" if stale else ""
    return measured("stateless", p, cmp, message=message, violated=bool(stale), diagnosis=STALE if stale else None)


def _each(calls: dict, x) -> dict:
    """Every function at ``x``, in protocol order; those that raise are left out."""
    out = {}
    for name, f in calls.items():
        try:
            out[name] = xp.asarray(f(x))
        except Exception:
            continue
    return out
