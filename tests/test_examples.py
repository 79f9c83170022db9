"""Every example implementation: the correct ones pass everywhere, each buggy one fails
the right check with the right diagnosis."""

import numpy as np
import pytest
from conftest import BUGGY, CORRECT, spec

import smgrad
from smgrad import problems
from smgrad.impl import load


@pytest.mark.parametrize("name", list(CORRECT))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dim", [1, 2, 10, 100])
def test_correct_examples_pass(name, dtype, dim):
    options = dict(CORRECT[name])
    seeds = range(2) if name.startswith("loops") and dim == 100 else range(4)
    for seed in seeds:
        if "batch" not in options:
            options["batch"] = 1 + seed % 3 * 2  # 1, 3, 5, 1
        report = smgrad.check(spec(name, "correct"), dim=dim, dtype=dtype, seed=seed, **options)
        assert report.passed, [(r.name, r.scenario, r.method, r.message) for r in report if r.status != "passed"]


def test_forward_only_example_skips_the_derivatives():
    report = smgrad.check(spec("forward_only.py", "correct"), batch=4)
    skipped = {r.name for r in report if r.status == "skipped"}
    assert skipped == {
        "softmax_jacobian",
        "softmax_backward",
        "cross_entropy_grad",
        "cross_entropy_hessian",
        "identities",
    }
    assert report.passed


def test_loops_example_falls_back_from_complex_step():
    report = smgrad.check(spec("loops.py", "correct"), dim=6)
    numerical = [r for r in report if r.method not in (None, "reference")]
    assert numerical and all(r.method == "richardson" for r in numerical)
    assert all("complex step not usable" in r.message for r in numerical)


@pytest.mark.parametrize("name", list(BUGGY))
@pytest.mark.parametrize(("dim", "dtype"), [(10, "float64"), (10, "float32"), (100, "float64"), (3, "float32")])
def test_buggy_examples_fail_the_right_check_with_the_right_diagnosis(name, dim, dtype):
    failing, diagnosis, options = BUGGY[name]
    dtypes = {} if dtype == "float64" else {"dtype": dtype}  # float64: the default run, float32 case and all
    report = smgrad.check(spec(name, "buggy"), dim=dim, **dtypes, **options)
    assert not report.passed
    bad = [r for r in report if r.status in ("failed", "error")]
    assert {r.name for r in bad} == failing  # in the default run's extra cases too
    for r in bad:
        assert r.status == "failed"
        # An extra case (B = 1, 1-D, ...) may have no diagnosis to give; a wrong one never.
        if r.covers is None or r.diagnosis is not None:
            assert diagnosis in (r.diagnosis or ""), (r.name, r.case, r.method, r.diagnosis)


def test_overflow_bug_fails_only_in_the_overflow_scenario():
    report = smgrad.check(spec("no_max_shift.py", "buggy"))
    assert {r.scenario for r in report if r.status == "failed"} == {"overflow"}


def test_a_missing_keepdims_is_caught_at_default_options():
    """The backward's sum lacks keepdims: numpy refuses B != n (an error naming the line),
    and at B = n, a case of the default run, mixes rows silently."""
    report = smgrad.check(spec("missing_keepdims.py", "buggy"))
    bad = [r for r in report if r.status in ("failed", "error")]
    assert {r.name for r in bad} == {"softmax_backward", "row_independence"}
    assert all(r.case == "B=10" for r in bad if r.name == "row_independence")
    assert all("missing_keepdims.py:" in r.message for r in bad if r.status == "error")
    mixed = next(r for r in bad if r.name == "row_independence")
    assert "wrong axis" in mixed.diagnosis


def test_a_raising_backward_is_an_error_with_its_line():
    report = smgrad.check(spec("backward_raises.py", "buggy"), batch=4)
    (errors,) = {r.message for r in report if r.status == "error"}
    assert errors.startswith("softmax_backward raised ValueError: ") and "(backward_raises.py:17)" in errors
    assert {r.name for r in report if r.status == "error"} == {"softmax_backward"}
    assert {r.name for r in report if r.status == "passed"} >= {"softmax"}


def test_a_wrong_shape_is_an_error_naming_both_shapes():
    report = smgrad.check(spec("wrong_shape.py", "buggy"), dim=7, batch=3)
    messages = {r.message for r in report if r.status == "error" and r.name == "cross_entropy_grad"}
    assert messages == {"cross_entropy_grad returned shape (7,) for input of shape (3, 7); expected (3, 7)"}


@pytest.mark.parametrize(("name", "options"), [("numpy_layer.py", {"batch": 4}), ("numpy_layer.py", {"batch": 1})])
def test_mutation_is_not_reported_for_a_clean_implementation(name, options):
    report = smgrad.check(spec(name, "correct"), **options)
    assert not any(r.diagnosis for r in report)


@pytest.mark.parametrize(("dtype", "dim", "seed"), [("float32", 3000, 0), ("float32", 3000, 2), ("float64", 3000, 1)])
def test_sums_taken_in_order_are_no_false_alarm(dtype, dim, seed):
    # Equal logits round alike: 3000 of them added in order lose ~n/2 eps, not sqrt(n).
    spec_ = spec("sequential_sums.py", "correct")
    y = load(spec_)["softmax"](problems.make_problem("ties", dim, 4, dtype, seed).x)
    assert np.abs(y.sum(axis=-1) - 1).max() > (8 + np.sqrt(dim)) * np.finfo(dtype).eps  # the case at hand
    report = smgrad.check(spec_, dim=dim, seed=seed, dtype=dtype, scenarios=("ties",), mode="fast")
    assert report.passed, [(r.name, r.message) for r in report if r.status != "passed"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_softmax_through_log_sum_exp_is_no_false_alarm_with_large_logits(dtype):
    # Logits near 1e3 (float64): the log-sum-exp's rounding scales each row by 1 -+ 1e-13.
    spec_ = spec("through_logsumexp.py", "correct")
    x = problems.make_problem("overflow", 100, 4, dtype, 0).x
    y = load(spec_)["softmax"](x)
    assert np.abs(y.sum(axis=-1) - 1).max() > (8 + np.sqrt(100)) * np.finfo(dtype).eps  # the case at hand
    for seed in range(3):
        report = smgrad.check(spec_, dim=100, seed=seed, dtype=dtype, scenarios=("overflow",))
        assert report.passed, [(r.name, r.method, r.message) for r in report if r.status != "passed"]


def test_sums_taken_in_order_do_not_fool_the_complex_step_probe():
    # With label smoothing at n = 20000 a loss summed in order is off by ~n/2 eps of its
    # value at every evaluation, differently at x + h and x - h: the central difference
    # the complex-step probe compares with must allow that, or a complex-safe function is
    # taken for one that is not and checked with Richardson, which fails it too.
    report = smgrad.check(
        spec("sequential_sums.py", "correct"),
        dim=20000,
        batch=1,
        label_smoothing=0.1,
        scenarios=("ties",),
        mode="fast",
    )
    assert report.passed, [(r.name, r.method, r.message) for r in report if r.status != "passed"]
    assert {r.method for r in report if r.name == "cross_entropy_grad"} == {"complex"}


def test_a_loss_wrong_on_a_row_alone_is_blamed_not_the_right_gradient():
    report = smgrad.check(spec("squeeze_loss.py", "buggy"), dim=10, batch=4)
    loss = [r for r in report if r.name == "cross_entropy"]
    assert all(r.status == "failed" and "wrong on a row alone" in r.message for r in loss)
    gradient = [r for r in report if r.name in ("cross_entropy_grad", "cross_entropy_hessian")]
    assert gradient and all(r.status == "passed" for r in gradient)
    numerical = [r for r in gradient if r.name == "cross_entropy_grad" and r.method != "reference"]
    assert numerical and all("differentiated the reference cross_entropy" in r.message for r in numerical)


def test_a_gradient_right_only_at_b_equal_n_is_blamed_at_b_equal_n():
    report = smgrad.check(spec("grad_over_n.py", "buggy"), dim=10, batch=10, scenarios="typical")
    failed = {(r.name, r.method) for r in report if r.status == "failed"}
    assert ("cross_entropy_grad", "reference") in failed  # row 0 alone, against the seed's formula
    alone = next(r for r in report if r.name == "cross_entropy_grad" and r.status == "failed")
    assert "wrong on a batch of one" in alone.message and "divided by n = 10" in alone.diagnosis
    assert {name for name, _ in failed} == {"cross_entropy_grad", "cross_entropy_hessian"}


@pytest.mark.parametrize("method", ["auto", "central", "richardson"])
@pytest.mark.parametrize("dim", [10, 100])
def test_a_backward_that_reuses_a_cached_forward_is_caught_every_time(method, dim):
    for seed in range(10):
        report = smgrad.check(spec("stale_cache.py:CachingSoftmax", "buggy"), dim=dim, seed=seed, method=method)
        stale = [r for r in report if r.name == "stateless"]
        assert stale and all(r.status == "failed" and "softmax_backward" in r.message for r in stale)
        assert all("a value is kept between calls" in r.diagnosis for r in stale)
        assert not any(r.status == "failed" for r in report if r.name in ("softmax", "cross_entropy"))


def test_a_layer_that_checks_the_input_of_its_cache_is_stateless(tmp_path):
    layer = tmp_path / "keyed.py"
    layer.write_text(
        "import numpy as np\n"
        "class Keyed:\n"
        "    def __init__(self):\n        self.x = self.y = None\n"
        "    def softmax(self, x):\n        e = np.exp(x - x.max(-1, keepdims=True))\n"
        "        self.x, self.y = x.copy(), e / e.sum(-1, keepdims=True)\n        return self.y\n"
        "    def softmax_backward(self, x, g):\n"
        "        if self.x is None or self.x.shape != x.shape or not np.array_equal(self.x, x):\n"
        "            raise RuntimeError('call softmax(x) first')\n"
        "        return self.y * (g - (g * self.y).sum(-1, keepdims=True))\n"
    )
    report = smgrad.check(f"{layer}:Keyed", dim=6)
    assert all(r.status == "passed" for r in report if r.name == "stateless")
