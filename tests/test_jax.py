"""Implementations on JAX arrays (issue 13, parts 1 and 2): the backward jax.vjp derives
from a forward, a custom_vjp rule that is wrong, and ``--impl jax``. Skipped where JAX is
not installed (.ci/run installs it)."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES

import smgrad

jax = pytest.importorskip("jax")

JAX = EXAMPLES / "jax"


def failing(report):
    bad = ("failed", "error", "inconclusive")
    return [(r.name, r.scenario, r.method, r.message) for r in report if r.status in bad]


@pytest.mark.parametrize("name", ["functions.py", "jax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_jax_implementations_pass(name, dtype):
    """JAX compiles each new shape (about 70 ms on this machine) and a check calls with
    over a hundred, so the suite runs dim 10 in the typical and peaked scenarios, one
    batch shape (a default run at dim 10 takes about 30 s)."""
    spec = name if name == "jax" else JAX / name
    for dim in (10,):
        report = smgrad.check(spec, dim=dim, dtype=dtype, batch=3, scenarios="typical,peaked")
        assert report.passed, failing(report)
        assert report.arrays.startswith("jax")
    backward = [r for r in report if r.name == "softmax_backward" and r.method not in (None, "reference")]
    assert backward and all(r.message.startswith("jax.vjp of softmax") for r in backward)


def test_a_custom_vjp_rule_with_only_the_diagonal_is_caught():
    report = smgrad.check(JAX / "custom_vjp_diagonal.py", batch=3, scenarios="typical,ties")
    assert {r.name for r in report if r.status == "failed"} == {"softmax_backward"}, failing(report)
    assert any("only the diagonal" in (r.diagnosis or "") for r in report if r.status == "failed")


def test_a_jax_function_that_computes_in_float32_passes_in_bfloat16():
    """jax.nn.softmax given bfloat16 computes in it (measured: two units in the last place
    in small entries, where x - max rounds); the example computes in float32 and rounds once."""
    report = smgrad.check(JAX / "functions.py", dtype="bfloat16", batch=3, scenarios="typical,peaked")
    assert report.passed, failing(report)
    assert report.to_dict()["config"]["precision"][0]["differentiated"] == "float64"
