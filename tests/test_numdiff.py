"""Numerical differentiation: each method's order of convergence, the accuracy of the
complex step, and the detection of functions the complex step cannot be trusted on."""

import math

import mpmath as mp
import numpy as np
import pytest

from smgrad import analytic, bounds, functions, numdiff
from smgrad.checks import Config, run
from smgrad.impl import reference

ORDERS = {"forward": 1, "backward": 1, "central": 2, "richardson": 4, "complex": 2}
# Steps where truncation dominates rounding by orders of magnitude, for each method.
STEPS = {
    "forward": np.geomspace(1e-2, 1e-5, 7),
    "backward": np.geomspace(1e-2, 1e-5, 7),
    "central": np.geomspace(1e-1, 1e-3, 7),
    "richardson": np.geomspace(0.4, 0.04, 7),
    "complex": np.geomspace(1e-1, 1e-3, 7),
}


def numerical_jacobian(f, x, method, h):
    return numdiff.jacobian(f, x, method, np.full((x.shape[0], 1), h))  # (N, m, n)


@pytest.mark.parametrize("method", list(ORDERS))
def test_convergence_order(method):
    x = np.random.default_rng(7).normal(0, 1.5, size=(3, 6))
    exact = analytic.softmax_jacobian(x)
    errors = [np.abs(numerical_jacobian(functions.softmax, x, method, h) - exact).max() for h in STEPS[method]]
    slope = np.polyfit(np.log(STEPS[method]), np.log(errors), 1)[0]
    assert slope == pytest.approx(ORDERS[method], abs=0.25), errors


def mp_jacobian(x):
    """The softmax Jacobian at 50 digits, rounded to float64 only at the end."""
    with mp.workdps(50):
        out = np.empty(x.shape + x.shape[-1:])
        for b, row in enumerate(x):
            e = [mp.exp(mp.mpf(float(v))) for v in row]
            s = mp.fsum(e)
            y = [v / s for v in e]
            for i in range(len(row)):
                for j in range(len(row)):
                    out[b, i, j] = float(y[i] * ((1 if i == j else 0) - y[j]))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_complex_step_is_accurate_to_a_few_ulps(seed):
    x = np.random.default_rng(seed).normal(0, 2, size=(4, 10))
    exact = mp_jacobian(x)
    complex_step = numerical_jacobian(functions.softmax, x, "complex", 1e-20)
    assert np.abs(complex_step - exact).max() <= 1e-15
    # In ulps of the row's largest probability: the diagonal y_j(1 - y_j) is rounded
    # relative to y_j, by complex step and by the seed's formula alike.
    ulps = np.abs(complex_step - exact) / np.spacing(functions.softmax(x).max(axis=-1))[:, None, None]
    assert ulps.max() <= 2


@pytest.mark.parametrize("seed", range(10))
def test_default_steps_meet_the_issue_targets(seed):
    x = np.random.default_rng(seed).normal(0, 2, size=(4, 10))
    y = functions.softmax(x)
    scales = bounds.Scales.of(x, value=y.max(axis=-1, keepdims=True), slope=1.0)
    exact = analytic.softmax_jacobian(x)
    for method, target in [("complex", 1e-15), ("central", 1e-9), ("richardson", 1e-11)]:
        h = bounds.default_step(method, scales, "float64", 10)
        numerical = numdiff.jacobian(functions.softmax, x, method, h)
        error = np.abs(numerical - exact).max()
        assert error <= target, method
        # and the error model bounds what was observed
        assert error <= bounds.bound(method, h, scales, "float64", 10).min()


def test_actual_step_makes_rounding_of_the_perturbed_logit_harmless():
    # At x = 1e4 the step 1e-9 is rounded to a multiple of ulp(1e4) = 1.8e-12; using
    # the step really taken keeps forward differences accurate to their truncation.
    x = np.array([[1e4 + 0.3, 1e4 - 0.2, 1e4]])
    exact = analytic.softmax_jacobian(x)
    numerical = numerical_jacobian(functions.softmax, x, "forward", 1e-7)
    assert np.abs(numerical - exact).max() < 1e-6


def _write_into_real_array(x):
    out = np.empty(x.shape)
    out[...] = np.exp(x - x.max(axis=-1, keepdims=True).real)
    return out / out.sum(axis=-1, keepdims=True)


def _float_cast(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _math_exp_loops(x):
    out = np.zeros_like(x)
    for b in range(x.shape[0]):
        m = max(x[b])
        e = [math.exp(v - m) for v in x[b]]
        s = sum(e)
        for i, v in enumerate(e):
            out[b, i] = v / s
    return out


def _abs_in_the_sum(x):
    e = np.exp(x - x.real.max(axis=-1, keepdims=True))
    return e / np.abs(e).sum(axis=-1, keepdims=True)


def _real_part(x):
    e = np.exp(x.real - x.real.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


UNSAFE = [_write_into_real_array, _float_cast, _math_exp_loops, _abs_in_the_sum, _real_part]


@pytest.mark.parametrize("f", UNSAFE, ids=lambda f: f.__name__)
def test_complex_unsafe_functions_are_detected(f):
    x = np.random.default_rng(0).normal(0, 2, size=(3, 7))
    np.testing.assert_allclose(f(x), functions.softmax(x), rtol=1e-14)  # correct on reals
    y = functions.softmax(x)
    scales = bounds.Scales.of(x, value=y.max(axis=-1, keepdims=True), slope=1.0)
    assert numdiff.complex_step_fault(f, x, scales) is not None
    assert numdiff.complex_step_fault(functions.softmax, x, scales) is None


@pytest.mark.parametrize("f", UNSAFE, ids=lambda f: f.__name__)
def test_the_probes_evaluated_one_at_a_time_say_what_they_say_together(f, monkeypatch):
    # At a million classes each probe column is its own evaluation (two complex copies of
    # the rows at once were 32 MB): the verdict is the same.
    x = np.random.default_rng(1).normal(0, 2, size=(3, 7))
    scales = bounds.Scales.of(x, value=functions.softmax(x).max(axis=-1, keepdims=True), slope=1.0)
    calls = []

    def counted(g):
        return lambda X: calls.append(X.shape[0]) or g(X)

    together = (
        numdiff.complex_step_fault(counted(f), x, scales),
        numdiff.complex_step_fault(functions.softmax, x, scales),
    )
    monkeypatch.setattr(numdiff, "PROBED_TOGETHER", 0)
    calls.clear()
    alone = numdiff.complex_step_fault(counted(f), x, scales), numdiff.complex_step_fault(functions.softmax, x, scales)
    assert together == alone and together[0] is not None and together[1] is None
    assert set(calls) == {x.shape[0]}  # one probe column per call


@pytest.mark.parametrize("f", UNSAFE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_auto_falls_back_and_raises_no_false_alarm(f, dtype):
    impl = reference().__class__(
        name=f.__name__,
        softmax=f,
        softmax_jacobian=analytic.softmax_jacobian,
        softmax_backward=analytic.softmax_vjp,
    )
    report = run(Config(dim=7, batch=3, dtype=dtype), impl)
    assert report.passed, [(r.name, r.scenario, r.message) for r in report if r.status != "passed"]
    derivative = [r for r in report if r.name == "softmax_jacobian" and r.method != "reference"]
    assert all(r.method == "richardson" and "complex step not usable" in r.message for r in derivative)


def test_the_option_vocabulary_matches_the_numerics():
    from smgrad import config, problems

    assert config.METHODS[1:] == bounds.METHODS == tuple(numdiff.RULES)
    assert set(problems.LOGITS) == set(config.SCENARIOS)
