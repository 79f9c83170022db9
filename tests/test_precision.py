"""Low precisions, the precision an implementation really computes at, and the loss
options kernels have (issue 13, parts 3 and 4), with numpy implementations only:
bfloat16 and float16 results judged as computed in float32 and stored once, a float64
run of code that computes in float32 judged as float32 and said to be, ``--reduction
none`` with one upstream gradient per row, and ``--ignore-index``."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import invoke, one_line_error

import smgrad
from smgrad import problems
from smgrad.precision import round_to

FORWARDS = (  # in float32 or wider, rounded once to the input's dtype
    "import numpy as np\n"
    "def softmax(x):\n"
    "    w = x.astype(np.promote_types(x.dtype, np.float32))\n"
    "    e = np.exp(w - w.max(-1, keepdims=True))\n"
    "    return (e / e.sum(-1, keepdims=True)).astype(x.dtype)\n"
)


def failing(report):
    return [(r.name, r.scenario, r.method, r.message) for r in report if r.status in ("failed", "error")]


def test_bfloat16_rounds_to_nearest_even_and_float16_likewise():
    one = np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, 1 + 2.0**-8 + 2.0**-20, -(1 + 2.0**-8), np.inf, np.nan])
    got = round_to(one, "bfloat16")
    assert got.dtype == np.float32
    assert got[:4].tolist() == [1.0, 1 + 2.0**-6, 1 + 2.0**-7, -1.0]
    assert np.isinf(got[4]) and np.isnan(got[5])
    assert round_to(np.array([1 + 2.0**-11]), "float16").tolist() == [1.0]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_low_precision_problem_holds_numbers_of_that_dtype(dtype):
    p = problems.make_problem("peaked", 50, 3, dtype, 0)
    for a in (p.x, p.t, p.g):
        assert a.dtype == np.float32 and np.array_equal(round_to(a, dtype), a)
    labels = np.argmax(p.t, axis=-1)
    assert labels[0] == np.argmax(p.x[0]) and labels[2] == np.argmax(p.x[2])  # confident rows


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_the_reference_stored_in_a_low_precision_passes_with_the_power_of_one_rounding(dtype):
    report = smgrad.check(dtype=dtype)
    assert report.passed, failing(report)
    stored = [r for r in report if r.method == "reference" and r.status == "passed"]
    assert {r.name for r in stored} == {"softmax_jacobian", "softmax_backward", "cross_entropy_grad"}
    eps = 2.0**-7 if dtype == "bfloat16" else 2.0**-10
    assert all(r.resolves <= 4 * eps for r in stored)  # a few roundings of the entry itself
    assert report.to_dict()["config"]["precision"] == [{"dtype": dtype, "computes": dtype, "differentiated": "float64"}]


def test_a_gradient_rounded_before_the_target_is_subtracted_is_caught_in_float16(tmp_path):
    """The fused-kernel bug: y stored in the low dtype, then 1 subtracted at the target,
    where y is near 1 (the peaked scenario's confident rows) and y - 1 cancels."""
    (tmp_path / "cancels.py").write_text(
        FORWARDS + "def cross_entropy_grad(x, t):\n"
        "    y = softmax(x.astype(np.float32)).astype(np.float16)  # stored, then t subtracted\n"
        "    return ((y - t) / x.shape[0]).astype(x.dtype)\n"
    )
    report = smgrad.check(tmp_path / "cancels.py", dtype="float16")
    failed = {(r.name, r.scenario) for r in report if r.status == "failed"}
    assert ("cross_entropy_grad", "peaked") in failed, failing(report)
    assert {name for name, _ in failed} <= {"cross_entropy_grad", "cross_entropy_hessian"}
    why = {r.diagnosis for r in report if r.status == "failed" and r.name == "cross_entropy_grad"}
    assert any("rounded to float16 before t was subtracted" in (w or "") for w in why), why
    # Subtracting first and rounding once is right.
    (tmp_path / "right.py").write_text(
        FORWARDS + "def cross_entropy_grad(x, t):\n"
        "    y, t = softmax(x.astype(np.float32)), t.astype(np.float32)\n"
        "    return ((y * t.sum(-1, keepdims=True) - t) / x.shape[0]).astype(x.dtype)\n"
    )
    report = smgrad.check(tmp_path / "right.py", dtype="float16")
    assert report.passed, failing(report)


def test_bfloat16_needs_an_array_library_that_has_it():
    line = one_line_error(invoke("check", "--impl", "examples/correct/numpy_layer.py", "--dtype", "bfloat16"))
    assert "--dtype bfloat16: numpy has no bfloat16; give --array torch or jax" in line


def test_code_that_computes_in_float32_given_float64_is_judged_as_float32_and_said_to_be(tmp_path):
    (tmp_path / "narrow.py").write_text(
        "import numpy as np\n"
        "def softmax(x):\n"
        "    w = x.astype(np.float32)\n"
        "    e = np.exp(w - w.max(-1, keepdims=True))\n"
        "    return (e / e.sum(-1, keepdims=True)).astype(x.dtype)\n"
        "def softmax_backward(x, g):\n"
        "    y, w = softmax(x).astype(np.float32), g.astype(np.float32)\n"
        "    return (y * (w - (w * y).sum(-1, keepdims=True))).astype(x.dtype)\n"
    )
    report = smgrad.check(tmp_path / "narrow.py")
    assert report.passed, failing(report)
    found = report.to_dict()["config"]["precision"]
    assert found == [{"dtype": "float64", "computes": "float32", "differentiated": "float32"}]
    out = invoke("check", "--impl", str(tmp_path / "narrow.py")).output
    assert "computes at about float32 precision given float64: judged as float32" in " ".join(out.split())
    correct = smgrad.check("examples/correct/numpy_layer.py", scenarios="typical")
    assert correct.to_dict()["config"]["precision"][0]["computes"] == "float64"


def test_a_float64_function_off_by_float32_rounding_in_one_place_is_not_excused(tmp_path):
    """Only the forward and backward as a whole decide the precision: a float64 softmax
    whose backward rounds one intermediate to float32 computes in float32 and is judged
    so; one whose backward is 1e-9 off everywhere is not float32 rounding, and fails."""
    (tmp_path / "off.py").write_text(
        FORWARDS + "def softmax_backward(x, g):\n"
        "    y = softmax(x)\n"
        "    return y * (g - (g * y).sum(-1, keepdims=True)) * (1 + 1e-9)\n"
    )
    report = smgrad.check(tmp_path / "off.py", scenarios="typical")
    assert report.to_dict()["config"]["precision"][0]["computes"] == "float64"
    assert {r.name for r in report if r.status == "failed"} == {"softmax_backward"}


LOSS = (
    "import numpy as np\n"
    "def _log_softmax(x):\n"
    "    z = x - x.max(-1, keepdims=True)\n"
    "    return z - np.log(np.exp(z).sum(-1, keepdims=True))\n"
    "def cross_entropy(x, labels):\n"
    "    return -np.take_along_axis(_log_softmax(x), labels[:, None], -1)[:, 0]\n"
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_per_row_losses_and_a_backward_given_one_upstream_gradient_per_row(tmp_path, dtype):
    (tmp_path / "rows.py").write_text(
        LOSS + "def cross_entropy_grad(x, labels, grad_rows):\n"
        "    g = np.exp(_log_softmax(x))\n"
        "    g[np.arange(len(labels)), labels] -= 1\n"
        "    return g * grad_rows[:, None]\n"
    )
    options = {"targets": "index", "reduction": "none", "dtype": dtype}
    report = smgrad.check(tmp_path / "rows.py", **options)
    assert report.passed, failing(report)
    # The upstream gradient taken as one number (a kernel bug): caught, and said.
    (tmp_path / "scalar.py").write_text(
        (tmp_path / "rows.py").read_text().replace("grad_rows[:, None]", "grad_rows[0]")
    )
    report = smgrad.check(tmp_path / "scalar.py", **options)
    failed = {r.name for r in report if r.status == "failed"}
    assert failed == {"cross_entropy_grad", "cross_entropy_hessian"}, failing(report)
    why = {r.diagnosis for r in report if r.status == "failed" and r.name == "cross_entropy_grad"}
    assert any("taken as one number for the batch" in (w or "") for w in why), why


def test_ignored_rows_have_no_gradient_and_no_share_of_the_mean(tmp_path):
    (tmp_path / "ignore.py").write_text(
        "import numpy as np\n"
        "IGNORE = -100\n"
        "def _log_softmax(x):\n"
        "    z = x - x.max(-1, keepdims=True)\n"
        "    return z - np.log(np.exp(z).sum(-1, keepdims=True))\n"
        "def cross_entropy(x, labels):\n"
        "    kept = labels != IGNORE\n"
        "    rows = -np.take_along_axis(_log_softmax(x), np.where(kept, labels, 0)[:, None], -1)[:, 0]\n"
        "    return (rows * kept).sum() / DIVISOR(kept)\n"
        "def cross_entropy_grad(x, labels):\n"
        "    kept = labels != IGNORE\n"
        "    g = np.exp(_log_softmax(x))\n"
        "    g[np.arange(len(labels)), np.where(kept, labels, 0)] -= 1\n"
        "    return g * kept[:, None] / DIVISOR(kept)\n"
        "def DIVISOR(kept):\n"
        "    return float(max(kept.sum(), 1))\n"
    )
    options = {"targets": "index", "ignore_index": -100, "batch": 6}
    assert smgrad.check(tmp_path / "ignore.py", **options).passed
    text = (tmp_path / "ignore.py").read_text().replace("return float(max(kept.sum(), 1))", "return float(len(kept))")
    (tmp_path / "counts.py").write_text(text)
    report = smgrad.check(tmp_path / "counts.py", **options)
    failed = {r.name for r in report if r.status == "failed"}
    assert {"cross_entropy", "cross_entropy_grad"} <= failed, failing(report)
    why = {r.diagnosis for r in report if r.status == "failed" and r.name == "cross_entropy_grad"}
    assert any("ignored rows counted in the mean" in (w or "") for w in why), why


def test_ignore_index_needs_class_ids():
    line = one_line_error(invoke("check", "--ignore-index", "-100"))
    assert "--ignore-index marks rows by their class id: give --targets index" in line


def test_a_softmax_computed_in_float16_is_said_to_be(tmp_path):
    """numpy computes float16 arithmetic in float16: x - max rounds there."""
    (tmp_path / "half.py").write_text(
        "import numpy as np\n"
        "def softmax(x):\n"
        "    e = np.exp(x - x.max(-1, keepdims=True))\n"
        "    return e / e.sum(-1, keepdims=True)\n"
    )
    report = smgrad.check(tmp_path / "half.py", dtype="float16", scenarios="typical,overflow")
    wrong = [r for r in report if r.status == "failed"]
    assert wrong and {r.name for r in wrong} == {"softmax"}, failing(report)
    assert all("computed in float16" in (r.diagnosis or "") for r in wrong), [r.diagnosis for r in wrong]


ZLOSS = (
    "import numpy as np\n"
    "Z = 1e-4\n"
    "def _lse(x):\n"
    "    m = x.max(-1, keepdims=True)\n"
    "    return (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))[..., 0]\n"
    "def cross_entropy(x, t):\n"
    "    lse = _lse(x)\n"
    "    return (t.sum(-1) * lse - (t * x).sum(-1) + Z * lse**2).mean()\n"
    "def cross_entropy_grad(x, t):\n"
    "    lse = _lse(x)\n"
    "    y = np.exp(x - lse[..., None])\n"
    "    return (y * t.sum(-1, keepdims=True) - t + 2 * Z * lse[..., None] * y) / x.shape[0]\n"
)


def test_a_loss_without_a_seed_formula_is_checked_against_its_own_forward(tmp_path):
    """A z-loss (``+ 1e-4 logsumexp^2``, as PaLM's): with loss_reference none its gradient
    is checked against its own forward, and the checks that need the seed's formula say so."""
    (tmp_path / "zloss.py").write_text(ZLOSS)
    assert not smgrad.check(tmp_path / "zloss.py").passed  # it is not the seed's loss
    report = smgrad.check(tmp_path / "zloss.py", loss_reference="none")
    assert report.passed, failing(report)
    skipped = {r.name for r in report if r.status == "skipped" and r.message.startswith("no reference")}
    assert skipped == {"cross_entropy", "cross_entropy_hessian"}
    assert {r.method for r in report if r.name == "cross_entropy_grad"} == {"complex"}  # no reference row
    (tmp_path / "forgot.py").write_text(ZLOSS.replace(" + 2 * Z * lse[..., None] * y", ""))
    report = smgrad.check(tmp_path / "forgot.py", loss_reference="none")
    assert {r.name for r in report if r.status == "failed"} == {"cross_entropy_grad"}, failing(report)
