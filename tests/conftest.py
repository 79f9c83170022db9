"""What the tests share: where the examples are, how the command is run, what each buggy
example must fail, and the hypothesis profiles."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from click.testing import CliRunner
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# Derandomised in CI so a red run is reproducible; a local run explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Correct examples, and what they need to be called at all.
CORRECT = {
    "numpy_layer.py": {},
    "loops.py": {},
    "float32_layer.py": {},
    "integer_targets.py": {"targets": "index"},
    "single_sample.py": {"batch": None},
    "forward_only.py": {},
    "layer_class.py:SoftmaxCrossEntropy": {},
    "sequential_sums.py": {},
    "through_logsumexp.py": {},
    "jacobian_matmul.py": {},
    "forward_first.py:ForwardFirst": {},
}

# Buggy examples: the checks that must fail in full mode (fast mode has no identities),
# words of the diagnosis each failure must carry, and the options the example needs.
BUGGY = {
    "diagonal_only.py": ({"softmax_jacobian", "softmax_backward", "identities"}, "only the diagonal", {}),
    "offdiag_sign.py": ({"softmax_jacobian", "identities"}, "wrong sign", {}),
    "sign_flipped.py": ({"cross_entropy_grad", "cross_entropy_hessian"}, "wrong sign", {}),
    "missing_mean.py": ({"cross_entropy_grad", "cross_entropy_hessian"}, "missing the mean", {}),
    "wrong_axis.py": (
        {"softmax", "softmax_backward", "cross_entropy_grad", "cross_entropy_hessian", "row_independence"},
        "wrong axis",
        {},
    ),
    "no_max_shift.py": ({"softmax", "softmax_backward"}, "exp overflows", {}),
    "ignores_nontarget.py": ({"cross_entropy_grad", "cross_entropy_hessian"}, "non-target", {"targets": "index"}),
    "mutates_input.py": ({"softmax"}, "mutation of the input", {}),
    "squeeze_loss.py": ({"cross_entropy"}, "divided by n", {}),
    "grad_over_n.py": ({"cross_entropy_grad", "cross_entropy_hessian"}, "divided by n", {}),
    # Caught only in the cases a default run adds (soft targets, class ids >= 256, float32),
    # where a diagnosis may be absent but never wrong.
    "argmax_targets.py": ({"cross_entropy_grad"}, "argmax(t)", {}),
    "uint8_labels.py": ({"cross_entropy", "cross_entropy_grad"}, "", {"targets": "index"}),
    "float64_result.py": ({"softmax_jacobian", "cross_entropy"}, "", {}),
}


def spec(name: str, folder: str) -> str:
    """The SPEC of an example: its path, and ``:object`` where it names one."""
    file, colon, attribute = name.partition(":")
    return str(EXAMPLES / folder / file) + colon + attribute


def example(name: str, folder: str = "correct"):
    """An example file as a module, loaded by path (examples/ is not a package)."""
    location = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / folder / f"{name}.py")
    module = importlib.util.module_from_spec(location)
    location.loader.exec_module(module)
    return module


def invoke(*args, **kwargs):
    """``smgrad ARGS`` through click's runner; exceptions propagate, exit codes are kept."""
    from smgrad.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def one_line_error(result, code: int = 2) -> str:
    """The one line a usage error prints, after checking that it is one line, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
