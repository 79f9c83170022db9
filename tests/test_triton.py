"""The fused Triton cross-entropy of ``examples/triton`` (issue 13, part 6), run on the
CPU under Triton's interpreter (``TRITON_INTERPRET=1``, which the example sets without a
CUDA device): the correct kernel passes in float32, float64 (judged at float32, the
precision it loads into, and said to be) and bfloat16, with its options; each buggy
variant fails in the dtype where it is wrong, in the right function, with a right (or
no) diagnosis; vocabulary 32000 with two rows. Skipped without triton and torch."""

from __future__ import annotations

import os

import pytest
from conftest import EXAMPLES

import smgrad

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # before triton is imported: it reads this once
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

KERNEL = EXAMPLES / "triton"
FAILING = ("failed", "error", "inconclusive")


def spec(name: str) -> str:
    return str(KERNEL / name)


def failing(report):
    return [(r.name, r.scenario, r.method, r.message) for r in report if r.status in FAILING]


def failed(report) -> set[str]:
    return {r.name for r in report if r.status in FAILING}


def diagnoses(report) -> set[str]:
    return {r.diagnosis for r in report if r.status == "failed" and r.diagnosis}


@pytest.mark.parametrize(
    ("dtype", "computes", "differentiated"),
    [("float32", "float32", "float32"), ("float64", "float32", "float32"), ("bfloat16", "bfloat16", "float32")],
)
def test_the_fused_kernel_passes_and_its_precision_is_measured(dtype, computes, differentiated):
    report = smgrad.check(spec("cross_entropy.py"), targets="index", dtype=dtype, batch=3, scenarios="typical,peaked")
    assert report.passed, failing(report)
    precision = report.to_dict()["config"]["precision"]
    assert precision == [{"dtype": dtype, "computes": computes, "differentiated": differentiated}]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("Smoothed", {"label_smoothing": 0.1}),
        ("Summed", {"reduction": "sum"}),
        ("PerRow", {"reduction": "none"}),
        ("CrossEntropy", {"ignore_index": -100}),
    ],
)
def test_the_fused_kernel_passes_with_its_options(name, options):
    for dtype in ("float32", "bfloat16"):
        report = smgrad.check(
            spec(f"cross_entropy.py:{name}"),
            targets="index",
            dtype=dtype,
            batch=6,
            scenarios="typical,peaked",
            **options,
        )
        assert report.passed, (dtype, failing(report))


@pytest.mark.parametrize(
    ("name", "options", "wrong", "functions", "why"),
    [
        (
            "ScalarUpstream",
            {"reduction": "none"},
            "float32",
            {"cross_entropy_grad", "cross_entropy_hessian"},
            "one number",
        ),
        (
            "CountsIgnored",
            {"ignore_index": -100},
            "float32",
            {"cross_entropy", "cross_entropy_grad", "cross_entropy_hessian"},
            "ignored rows counted in the mean",
        ),
    ],
)
def test_each_buggy_variant_fails_the_right_function_with_the_right_diagnosis(name, options, wrong, functions, why):
    report = smgrad.check(
        spec(f"buggy.py:{name}"), targets="index", dtype=wrong, batch=6, scenarios="typical", **options
    )
    assert failed(report) == functions, failing(report)
    assert any(why in d for d in diagnoses(report)), diagnoses(report)


def test_storing_softmax_before_subtracting_the_target_is_wrong_in_bfloat16_only():
    """At dim 10; the peaked scenario's confident rows put softmax at the target near 1."""
    options = {"targets": "index", "batch": 3, "scenarios": "typical,peaked"}
    assert smgrad.check(spec("buggy.py:StoreThenCorrect"), dtype="float32", **options).passed
    report = smgrad.check(spec("buggy.py:StoreThenCorrect"), dtype="bfloat16", **options)
    assert failed(report) == {"cross_entropy_grad"}, failing(report)
    assert {r.scenario for r in report if r.status == "failed"} == {"peaked"}
    assert all("rounded to bfloat16 before t was subtracted" in d for d in diagnoses(report)), diagnoses(report)


def test_a_kernel_that_writes_its_gradient_into_the_logits_is_reported_and_can_be_allowed():
    options = {"targets": "index", "batch": 3, "scenarios": "typical"}
    report = smgrad.check(spec("buggy.py:InPlace"), **options)
    assert failed(report) == {"cross_entropy", "cross_entropy_grad"}, failing(report)
    assert all("overwrites its input x in place" in r.message for r in report if r.status == "failed")
    assert smgrad.check(spec("buggy.py:InPlace"), allow_inplace=True, **options).passed


VOCAB = {"targets": "index", "dim": 32000, "batch": 2, "scenarios": "peaked"}


def test_at_vocabulary_32000_the_kernel_passes_and_the_bfloat16_precision_bug_is_caught():
    assert smgrad.check(spec("cross_entropy.py"), dtype="bfloat16", **VOCAB).passed
    report = smgrad.check(spec("buggy.py:StoreThenCorrect"), dtype="bfloat16", **VOCAB)
    assert failed(report) == {"cross_entropy_grad"}, failing(report)
    assert all("rounded to bfloat16 before t was subtracted" in d for d in diagnoses(report))


def test_at_vocabulary_32000_a_block_count_rounded_down_is_caught():
    """32000 classes are 3.9 blocks of 8192: the last 7424 are left out."""
    report = smgrad.check(spec("buggy.py:FloorBlocks"), dtype="float32", **VOCAB)
    assert {"cross_entropy", "cross_entropy_grad"} <= failed(report), failing(report)
