"""Verdicts both ways: the reference passes everywhere, a wrong derivative never does."""

import dataclasses
import json
from dataclasses import replace

import numpy as np
import pytest

from smgrad import functions, problems
from smgrad.checks import run
from smgrad.config import Config
from smgrad.errors import UsageError
from smgrad.impl import reference
from smgrad.testing import with_relative_error


def with_functions(**replacements):
    """The reference (mean reduction) with some functions replaced, on rows."""
    ref = reference("mean")
    grad = replacements.get("cross_entropy_grad")
    if grad is not None:  # the gradient of each row's own loss, undoing the mean
        replacements["row_gradients"] = lambda x, t: grad(x, t) * x.shape[0]
    return dataclasses.replace(ref, name="test", softmax_jacobian_block=None, **replacements)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dim", [1, 2, 3, 10, 100])
@pytest.mark.parametrize("batch", [None, 1, 3, 8])
def test_reference_passes(dim, batch, dtype):
    for seed in range(3):
        report = run(Config(dim=dim, batch=batch, dtype=dtype, seed=seed))
        assert report.passed, [(r.name, r.scenario, r.message) for r in report if r.status != "passed"]


@pytest.mark.parametrize(
    ("dtype", "scale", "seed", "scenario", "chain"),
    [("float32", 20.0, 3, "typical", "evaluated"), ("float64", 300.0, 5, "overflow", "not evaluated")],
)
def test_a_target_probability_too_small_for_t_over_y_is_no_false_alarm(dtype, scale, seed, scenario, chain):
    # y at the target is not 0 but 1/y overflows the dtype: the chain-rule identity
    # J^T(-t/y) is taken in float64 (enough for any float32 y) or, past that, not at all.
    p = problems.make_problem(scenario, 2, 3, dtype, seed, scale=scale)
    y = functions.softmax(p.x)[p.t != 0]
    assert np.any((y > 0) & (y < 1 / np.finfo(dtype).max))  # the case this test is about
    report = run(Config(dim=2, batch=3, dtype=dtype, seed=seed, scale=scale, scenarios=(scenario,)))
    assert report.passed, [(r.name, r.message) for r in report if r.status != "passed"]
    (identities,) = [r for r in report if r.name == "identities"]
    assert ("chain rule not evaluated" in identities.message) == (chain == "not evaluated")


def test_identities_allow_for_the_rounding_of_long_sums():
    # With label smoothing every term of J^T(-t/y) is non-zero and of one sign: summed
    # along a strided axis, 300 terms lose ~100 eps, beyond (8 + sqrt(n)) eps.
    report = run(Config(dim=300, batch=1, seed=5, label_smoothing=0.01, scenarios=("overflow",)))
    (identities,) = [r for r in report if r.name == "identities"]
    assert identities.status == "passed", identities.message
    assert "J^T(-t/y)" in identities.message  # evaluated, not skipped


@pytest.mark.parametrize(("dtype", "rel"), [("float64", 1e-8), ("float32", 1e-3)])
@pytest.mark.parametrize("seed", range(5))
def test_small_relative_errors_are_caught(dtype, rel, seed):
    report = run(Config(dim=10, dtype=dtype, seed=seed), with_relative_error(rel))
    failed = {r.name for r in report if r.status == "failed"}
    # identities too: J^T(-t/y) comes out (1 + rel)(y - t)
    assert failed == {
        "softmax_jacobian",
        "softmax_backward",
        "cross_entropy_grad",
        "cross_entropy_hessian",
        "identities",
    }


def _diagonal_only(x):
    y = functions.softmax(x)
    return np.einsum("...i,ij->...ij", y * (1 - y), np.eye(x.shape[-1]))


def _naive_softmax(x):
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    ("name", "replacements", "failing"),
    [
        ("diagonal-only Jacobian", {"softmax_jacobian": _diagonal_only}, {"softmax_jacobian", "identities"}),
        (
            "sign flipped",
            {"cross_entropy_grad": lambda x, t: t - functions.softmax(x)},
            {"cross_entropy_grad", "cross_entropy_hessian"},
        ),
        (
            "missing batch mean",
            {"cross_entropy_grad": lambda x, t: functions.softmax(x) - t},
            {"cross_entropy_grad", "cross_entropy_hessian"},
        ),
        (
            "y - t for targets that do not sum to 1 is fine; y alone is not",
            {"cross_entropy_grad": lambda x, t: functions.softmax(x) / x.shape[0]},
            {"cross_entropy_grad"},  # y alone has the right Hessian: only the gradient fails
        ),
        (
            "softmax over the wrong axis",
            {"softmax": lambda x: functions.softmax(x.T).T},
            {"softmax", "row_independence"},
        ),
        ("naive exp overflows", {"softmax": _naive_softmax}, {"softmax"}),
    ],
)
def test_common_mistakes_fail_the_right_check(name, replacements, failing):
    report = run(Config(dim=6, batch=3), with_functions(**replacements))
    assert not report.passed
    assert {r.name for r in report if r.status in ("failed", "error")} == failing, name


def test_forward_bug_and_backward_bug_are_told_apart():
    # A forward with a wrong temperature: its own numerical derivative agrees with its
    # (correct for it) analytic one is not the case here, so only forward + Jacobian fail.
    hot = with_functions(softmax=lambda x: functions.softmax(2 * x))
    failed = {r.name for r in run(Config(dim=5), hot) if r.status == "failed"}
    assert "softmax" in failed


def test_raising_implementation_is_an_error_result_not_a_crash():
    def broken(x, g):
        raise RuntimeError("backward not implemented")

    report = run(Config(dim=4, scenarios=("typical",)), with_functions(softmax_backward=broken))
    (result,) = [r for r in report if r.name == "softmax_backward"]
    assert result.status == "error"
    assert "RuntimeError: backward not implemented" in result.message
    assert not report.passed


def test_missing_functions_are_skipped():
    only_forward = dataclasses.replace(
        with_functions(), softmax_jacobian=None, softmax_backward=None, cross_entropy_grad=None, row_gradients=None
    )
    report = run(Config(dim=4), only_forward)
    assert report.passed
    skipped = {r.name for r in report if r.status == "skipped"}
    assert skipped == {
        "softmax_jacobian",
        "softmax_backward",
        "cross_entropy_grad",
        "cross_entropy_hessian",
        "identities",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dim": 0},
        {"batch": 0},
        {"seed": -1},
        {"dtype": "float8"},
        {"scale": float("nan")},
        {"scenarios": ("nope",)},
        {"method": "secant"},
        {"step": 0.0},
        {"rtol": float("inf")},
        {"targets": "hard"},
        {"reduction": "max"},
        {"dim": 10**8, "batch": 10**4},  # 16 TB of logits and targets
    ],
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(UsageError):
        Config(**kwargs)


def test_report_json_is_strict():
    report = run(Config(dim=3, scenarios=("typical",)))
    first, second, *rest = report.results
    results = [replace(first, max_abs_error=float("nan")), replace(second, max_rel_error=float("inf")), *rest]
    data = json.loads(replace(report, results=results).to_json())  # strict: allow_nan=False would raise
    assert data["checks"][0]["max_abs_error"] is None and data["checks"][1]["max_rel_error"] is None
