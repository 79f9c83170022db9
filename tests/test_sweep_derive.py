"""smgrad sweep and smgrad derive: the numbers behind them, and the commands."""

import dataclasses
import json
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, invoke

import smgrad
from smgrad.explain import derive
from smgrad.explain.sweep import sweep
from smgrad.impl import as_implementation

EPS = {"float64": np.finfo(np.float64).eps, "float32": np.finfo(np.float32).eps}


@pytest.mark.parametrize("target", ["softmax_jacobian", "cross_entropy_grad"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", range(3))
def test_best_central_step_is_near_eps_to_the_third(target, dtype, seed):
    (central,) = sweep(target, dim=10, seed=seed, dtype=dtype, methods=("central",)).methods
    best, _ = central.best
    assert EPS[dtype] ** (1 / 3) / 10 <= best <= 10 * EPS[dtype] ** (1 / 3)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_complex_step_reaches_a_few_ulps_for_tiny_steps(dtype):
    for target in ("softmax_jacobian", "cross_entropy_grad"):
        (complex_step,) = sweep(target, dim=10, dtype=dtype, methods=("complex",)).methods
        tiny = [e for h, e in zip(complex_step.steps, complex_step.errors, strict=True) if h <= 1e-20]
        assert tiny and max(tiny) <= 4 * EPS[dtype]


def test_real_step_errors_form_a_v():
    for method in ("forward", "central", "richardson"):
        (m,) = sweep(methods=(method,)).methods
        best = m.steps.index(m.best[0])
        assert m.errors[0] > 100 * m.best[1] and m.errors[-2] > 100 * m.best[1]  # both arms rise
        assert 0 < best < len(m.steps) - 1


def test_sweep_over_a_user_implementation_notes_a_complex_unsafe_one():
    result = sweep(
        methods=("complex", "richardson"),
        impl=as_implementation(str(EXAMPLES / "correct" / "loops.py")),
    )
    assert "complex step not usable" in result.note
    complex_step, richardson = result.methods
    assert all(e == float("inf") or e > 1e-3 for e in complex_step.errors)  # no number, or garbage
    assert richardson.best[1] < 1e-10


def test_sweep_command_json_and_plot(tmp_path):
    data = json.loads(invoke("sweep", "--format", "json", "--methods", "central,complex").stdout)
    assert [m["method"] for m in data["methods"]] == ["central", "complex"]
    assert all(len(m["steps"]) == len(m["errors"]) for m in data["methods"])
    figure = tmp_path / "sweep.png"
    result = invoke("sweep", "--dim", "5", "--plot", str(figure))
    assert result.exit_code == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = invoke("sweep", "--methods", "central").stdout
    assert "best" in table and "default" in table and "eps^(1/(p+1))" in table


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke("sweep", "--plot", str(tmp_path / "x.png"))
    assert result.exit_code == 2
    assert "pip install 'smgrad[plot]'" in result.stderr
    assert invoke("sweep", "--plot", str(tmp_path / "x.gif")).exit_code == 2


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("targets", ["onehot", "soft"])
def test_every_line_of_the_derivation_holds(seed, targets):
    for chain in derive.derive(dim=1 + seed % 6, seed=seed, targets=targets).chains:
        assert all(line.holds for line in chain.lines), chain.title


def test_a_changed_line_is_caught():
    chains = derive.derivation()
    title, gradient = chains[-1]
    wrong = list(gradient)
    # the classic slip: the diagonal case y(1 - y) used for every i, dropping -y_i y_k
    wrong[4] = dataclasses.replace(wrong[4], value=lambda s: -(s.t / s.y) * (s.y - s.y**2))
    result = derive.evaluate([*chains[:-1], (title, wrong)], derive.sample(4, 0))
    holds = [line.holds for line in result[-1].lines]
    assert holds[4] is False
    assert all(holds[:4])


def test_the_unit_sum_step_fails_and_the_general_form_holds_when_targets_do_not_sum_to_one():
    gradient = derive.derive(dim=5, seed=1, targets="soft", target_sum=0.7).chains[-1]
    *_, unit, general = gradient.lines
    assert unit.step.assumes_unit_sum and not unit.holds
    assert general.step is derive.GENERAL and general.holds
    assert all(line.holds for line in gradient.lines[:-2])


def test_derive_command():
    result = invoke("derive", "--targets", "soft", "--target-sum", "0.7")
    assert result.exit_code == 0  # only the step that needs sum(t) = 1 fails, as it should
    assert "this step uses Σ_i t_i = 1, but here Σ_i t_i = 0.7" in result.stdout
    assert "y_k Σ_i t_i − t_k" in result.stdout
    data = json.loads(invoke("derive", "--format", "json").stdout)
    assert [c["title"] for c in data["chains"]] == [
        "softmax",
        "Jacobian, i = j",
        "Jacobian, i ≠ j",
        "cross-entropy gradient",
    ]
    assert all(line["holds"] for c in data["chains"] for line in c["lines"])
    assert max(len(line) for line in invoke("derive").stdout.splitlines()) <= 80


def test_soft_targets_label_smoothing_and_target_sums_pass_on_the_reference():
    for options in ({"targets": "soft"}, {"label_smoothing": 0.1}, {"target_sum": 0.7, "targets": "soft"}):
        assert smgrad.check(dim=8, **options).passed


def test_hessian_check_fails_on_a_wrong_gradient():
    report = smgrad.check(str(EXAMPLES / "buggy" / "missing_mean.py"), dim=6, batch=4)
    hessian = [r for r in report if r.name == "cross_entropy_hessian"]
    assert hessian and all(r.status == "failed" for r in hessian)
    assert all("follows from cross_entropy_grad" in r.diagnosis for r in hessian)
    correct = smgrad.check(str(EXAMPLES / "correct" / "numpy_layer.py"), dim=6)
    assert all(r.status == "passed" for r in correct if r.name == "cross_entropy_hessian")
