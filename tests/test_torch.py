"""Implementations on torch tensors (issue 13, parts 1 and 2): called with torch tensors of
the run's dtype, a backward autograd derives from a forward checked as training runs it,
torch's own functions (``--impl torch``), and a numpy run that never imports torch.
Skipped where torch is not installed (.ci/run installs it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import EXAMPLES, invoke, one_line_error

import smgrad
from smgrad import problems

torch = pytest.importorskip("torch")

TORCH = EXAMPLES / "torch"
CORRECT = ["functions.py", "autograd_function.py:Softmax", "module.py:SoftCrossEntropy", "torch"]


def spec(name: str) -> str:
    return name if name == "torch" else str(TORCH / name)


def failing(report):
    return [
        (r.name, r.scenario, r.method, r.message) for r in report if r.status in ("failed", "error", "inconclusive")
    ]


@pytest.mark.parametrize("name", CORRECT)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_torch_implementations_pass(name, dtype):
    """A default run at dim 10 (every scenario and the cases it adds), and dims 2 and 100
    at two seeds in the typical and peaked scenarios."""
    runs = [{"dim": 10}] + [dict(dim=d, seed=s, batch=3, scenarios="typical,peaked") for d in (2, 100) for s in (0, 1)]
    for options in runs:
        report = smgrad.check(spec(name), dtype=dtype, **options)
        assert report.passed, (options, failing(report))
        assert report.arrays.startswith("torch")


def test_a_backward_autograd_derives_is_checked_and_said_to_be():
    report = smgrad.check(spec("autograd_function.py:Softmax"), scenarios="typical", batch=3)
    backward = [r for r in report if r.name == "softmax_backward" and r.method != "reference"]
    assert backward and all(r.status == "passed" for r in backward)
    assert all(r.message.startswith("torch.autograd of softmax") for r in backward)
    grad = [r for r in smgrad.check(spec("module.py:SoftCrossEntropy"), scenarios="typical") if r.method == "complex"]
    assert not grad  # autograd's gradient is not the complex step's: real steps
    assert report.to_dict()["config"]["arrays"].startswith("torch")


def test_a_hand_written_backward_with_only_its_diagonal_is_caught():
    report = smgrad.check(spec("diagonal_backward.py:Softmax"), batch=3)
    failed = {r.name for r in report if r.status == "failed"}
    assert failed == {"softmax_backward"}, failing(report)
    assert any("only the diagonal" in (r.diagnosis or "") for r in report if r.status == "failed")


def test_a_forward_autograd_cannot_follow_fails_its_backward_with_autograds_words(tmp_path):
    (tmp_path / "detached.py").write_text(
        "import torch\ndef softmax(x):\n    return torch.softmax(x.detach(), dim=-1)\n"
    )
    report = smgrad.check(tmp_path / "detached.py", scenarios="typical", batch=2)
    assert {r.status for r in report if r.name == "softmax"} == {"passed"}
    backward = [r for r in report if r.name == "softmax_backward"]
    assert backward and {r.status for r in backward} == {"error"}
    assert "does not require grad" in backward[0].message


def test_the_dtype_returned_is_checked_in_torchs_words(tmp_path):
    (tmp_path / "upcast.py").write_text("import torch\ndef softmax(x):\n    return torch.softmax(x.double(), dim=-1)\n")
    report = smgrad.check(tmp_path / "upcast.py", dtype="float32", scenarios="typical", batch=2)
    softmax = [r for r in report if r.name == "softmax"]
    assert {r.status for r in softmax} == {"failed"}
    assert "returned float64 for float32 input" in softmax[0].message


def test_torch_code_given_numpy_arrays_fails_its_checks():
    report = smgrad.check(spec("functions.py"), array="numpy", scenarios="typical", batch=2)
    assert report.arrays == "numpy" and not report.passed


def test_a_device_that_is_not_there_is_a_usage_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    line = one_line_error(invoke("check", "--impl", spec("functions.py"), "--device", "cuda"))
    assert "--device cuda: torch finds no CUDA device" in line and "--device cpu" in line
    line = one_line_error(invoke("check", "--device", "gpu0"))
    assert "expected cpu, cuda or cuda:N" in line
    line = one_line_error(invoke("check", "--device", "cuda"))
    assert "--device cuda: the reference is numpy, on the CPU; give --impl torch" in line
    line = one_line_error(invoke("check", "--impl", "examples/correct/numpy_layer.py", "--device", "cuda:1"))
    assert "--device cuda:1: numpy arrays live on the CPU; give --array torch or jax" in line


def test_a_numpy_run_never_imports_torch():
    code = (
        "import sys, smgrad\n"
        "assert smgrad.check(dim=3, scenarios='typical').passed\n"
        "assert smgrad.check('examples/correct/numpy_layer.py', dim=3, scenarios='typical').passed\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jax')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=EXAMPLES.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_missing_library_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax raises ImportError
    line = one_line_error(invoke("check", "--impl", "jax"))
    assert "--array jax needs jax installed: pip install 'smgrad[jax]'" in line


def test_a_kernel_that_stores_its_gradient_in_the_logits_is_its_own_finding(tmp_path):
    """The memory trick of fused kernels: the gradient written into x's buffer."""
    (tmp_path / "inplace.py").write_text(
        "import torch\n"
        "def cross_entropy(x, t):\n"
        "    return -(t * torch.log_softmax(x, dim=-1)).sum(dim=-1).mean()\n"
        "def cross_entropy_grad(x, t):\n"
        "    g = (torch.softmax(x, dim=-1) * t.sum(dim=-1, keepdim=True) - t) / x.shape[0]\n"
        "    return x.copy_(g)\n"
    )
    report = smgrad.check(tmp_path / "inplace.py", scenarios="typical", batch=3)
    grad = [r for r in report if r.name == "cross_entropy_grad"]
    assert grad and {r.status for r in grad} == {"failed"}
    assert "overwrites its input x in place" in grad[0].message
    assert smgrad.check(tmp_path / "inplace.py", scenarios="typical", batch=3, allow_inplace=True).passed


def test_an_instance_or_a_plain_function_named_by_object_is_taken_by_its_arguments(tmp_path):
    (tmp_path / "objects.py").write_text(
        "import torch\n"
        "class Loss(torch.nn.Module):\n"
        "    def forward(self, logits, target):\n"
        "        return -(target * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()\n"
        "loss = Loss()\n"
        "def probabilities(x):\n"
        "    return torch.softmax(x, dim=-1)\n"
        "def three(x, t, u):\n"
        "    return x\n"
    )
    by_instance = smgrad.check(f"{tmp_path / 'objects.py'}:loss", scenarios="typical", batch=3)
    assert by_instance.passed and {r.name for r in by_instance if r.status == "passed"} >= {"cross_entropy_grad"}
    by_function = smgrad.check(f"{tmp_path / 'objects.py'}:probabilities", scenarios="typical", batch=3)
    assert by_function.passed and {r.name for r in by_function if r.status == "passed"} >= {"softmax_backward"}
    line = one_line_error(invoke("check", "--impl", f"{tmp_path / 'objects.py'}:three"))
    assert "defines none of softmax" in line  # three arguments: neither forward


@pytest.mark.parametrize("name", CORRECT[:3])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_correct_torch_implementations_pass_in_low_precision(name, dtype):
    """A default run at dim 10: every scenario (the peaked one's confident rows too) and
    the cases it adds; the derivatives differentiated in float64, which they take."""
    report = smgrad.check(spec(name), dtype=dtype)
    assert report.passed, failing(report)
    assert report.to_dict()["config"]["precision"][0]["differentiated"] == "float64"


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_torchs_own_softmax_passes_in_low_precision(dtype):
    report = smgrad.check("torch", dtype=dtype)
    softmax = [r for r in report if r.name.startswith("softmax")]
    assert softmax and all(r.status in ("passed", "skipped") for r in softmax), failing(report)


@pytest.mark.skipif(not torch.__version__.startswith("2.13."), reason="measured on torch 2.13")
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_torchs_own_cross_entropy_loses_a_confident_rows_target_gradient_on_the_cpu(dtype):
    """Measured, torch 2.13 CPU: log_softmax in bfloat16 rounds the log-sum-exp before
    subtracting it, so a row predicted at softmax 0.999 gets a loss of 0 and a gradient
    of 0 at its target (the true value, -1.3e-3, is a bfloat16 number). smgrad reports it
    in the peaked scenario's confident rows, and nowhere else."""
    report = smgrad.check("torch", dtype=dtype)
    wrong = {(r.name, r.scenario) for r in report if r.status == "failed"}
    assert wrong == {("cross_entropy", "peaked"), ("cross_entropy_grad", "peaked")}, failing(report)
    grad = next(r for r in report if r.name == "cross_entropy_grad" and r.status == "failed")
    b, j = grad.worst[0].index
    targets = problems.make_problem("peaked", 10, 4, dtype, 0).t
    assert b % 2 == 0 and j == int(targets[b].argmax())  # a confident row's target
    assert grad.worst[0].deviation > 0.1 * abs(grad.worst[0].numerical)  # a large part of the entry
    assert "cancels" in grad.diagnosis
