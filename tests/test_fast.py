"""Fast mode: sampled coordinates and random projections keep their power at large n,
and rows are checked for independence."""

import numpy as np
import pytest
from conftest import BUGGY, EXAMPLES

import smgrad
from smgrad.config import Config


@pytest.mark.parametrize("name", list(BUGGY))
@pytest.mark.parametrize(("dim", "batch", "dtype"), [(2000, 2, "float64"), (1500, 3, "float32")])
def test_every_buggy_example_is_caught_in_fast_mode_at_large_n(name, dim, batch, dtype):
    if name == "float64_result.py" and dtype == "float64":
        pytest.skip("a float64 result is a bug of float32 runs only")
    targets = {"ignores_nontarget.py": "index", "uint8_labels.py": "index", "argmax_targets.py": "soft"}
    targets = targets.get(name, "onehot")
    report = smgrad.check(
        str(EXAMPLES / "buggy" / name),
        dim=dim,
        batch=batch,
        dtype=dtype,
        targets=targets,
        mode="fast",
        scenarios=("typical", "overflow"),
    )
    assert not report.passed
    failing = BUGGY[name][0] - {"identities"}  # fast mode has no identities
    assert {r.name for r in report if r.status in ("failed", "error")} == failing


def test_a_backward_returning_zeros_is_caught_in_fast_mode():
    # Non-negative random directions lie near the all-ones vector, which J sends to zero;
    # zero-mean ones do not.
    zeros = {"softmax_backward": lambda x, g: 0 * x}
    report = smgrad.check(zeros, dim=5000, batch=1, mode="fast", scenarios=("typical",))
    assert {r.name for r in report if r.status == "failed"} == {"softmax_backward"}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(3))
def test_correct_implementations_pass_in_fast_mode(dtype, seed):
    for name in ("numpy_layer.py", "float32_layer.py", "integer_targets.py"):
        targets = "index" if name == "integer_targets.py" else "onehot"
        report = smgrad.check(
            str(EXAMPLES / "correct" / name), dim=1500, batch=2, dtype=dtype, seed=seed, targets=targets, mode="fast"
        )
        assert report.passed, [(r.name, r.scenario, r.message) for r in report if r.status != "passed"]
    assert smgrad.check(dim=20000, batch=1, seed=seed, dtype=dtype).passed  # auto: fast


def test_auto_mode_switches_at_the_threshold_and_says_so():
    assert Config(dim=1000, batch=4).resolved_mode == "full"
    assert Config(dim=1001, batch=4).resolved_mode == "fast"
    assert Config(dim=10, mode="fast").resolved_mode == "fast"
    report = smgrad.check(dim=1500, batch=2)
    assert report.summary["mode"] == "fast"
    assert all("fast mode" in r.message for r in report if r.method and r.status == "passed")


def test_identities_are_left_to_full_mode():
    report = smgrad.check(dim=50, batch=4, dtype="float64", mode="fast", scenarios=("typical",))
    (identities,) = [r for r in report if r.name == "identities"]
    assert identities.status == "skipped" and "full mode" in identities.message


def test_row_independence_is_skipped_for_one_row():
    report = smgrad.check(dim=5, batch=1, dtype="float64", scenarios=("typical",))
    (rows,) = [r for r in report if r.name == "row_independence"]
    assert rows.status == "skipped"


def test_directions_made_a_group_at_a_time_are_those_made_at_once():
    from smgrad import problems
    from smgrad.checks import probes

    p = problems.make_problem("typical", 50, 3, "float64", 0)
    _, plan = probes.plan(p, "fast", 0)
    together = [v for _, v in plan.directions(p.x, 0, probes.PROJECTIONS)]
    one_by_one = [v for _, v in plan.directions(p.x, 0, 1)]
    assert len(together) == 1 and len(one_by_one) == probes.PROJECTIONS
    assert np.array_equal(together[0], np.concatenate(one_by_one))  # bit for bit
    assert [k for k, _ in plan.directions(p.x, 0, 3)] == [0, 3]
    assert np.all(np.max(np.abs(together[0]), axis=-1) == 1)
    assert not np.array_equal(together[0], next(iter(plan.directions(p.x, 1, 4)))[1])  # each check its own
