"""Loading and adapting implementations: every way to name one, every way to get it wrong."""

import json
import types

import numpy as np
import pytest
from conftest import EXAMPLES, example, invoke, one_line_error

import smgrad
from smgrad.errors import UsageError
from smgrad.testing import assert_correct

NUMPY_LAYER = str(EXAMPLES / "correct" / "numpy_layer.py")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("def softmax(x)\n    return x\n", "SyntaxError"),
        ("import no_such_package_for_smgrad\n", "ModuleNotFoundError: No module named 'no_such_package_for_smgrad'"),
        ("raise RuntimeError('broken at import')\n", "RuntimeError: broken at import (bad.py:1)"),
        ("def forward(x):\n    return x\n", "defines none of softmax"),
        ("softmax = 3\n", "defines none of softmax"),
    ],
)
def test_unusable_files_are_usage_errors(tmp_path, text, fragment):
    result = invoke("check", "--impl", write(tmp_path, "bad.py", text))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smgrad: error: --impl")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("no/such/file.py", "no such file"),
        ("no_such_module_for_smgrad", "no module named 'no_such_module_for_smgrad'"),
        (f"{NUMPY_LAYER}:Missing", "has no 'Missing'"),
        ("", "names no file or module"),
    ],
)
def test_unloadable_specs_are_usage_errors(spec, fragment):
    result = invoke("check", "--impl", spec)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_module_by_dotted_name_and_an_object_inside_it(tmp_path, monkeypatch):
    package = tmp_path / "mynet"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text((EXAMPLES / "correct" / "numpy_layer.py").read_text())
    (package / "ns.py").write_text(
        "import types\nfrom mynet import layers\nops = types.SimpleNamespace(softmax=layers.softmax)\n"
        "table = {'softmax': layers.softmax, 'cross_entropy': layers.cross_entropy}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert invoke("check", "--impl", "mynet.layers", "--quiet").exit_code == 0
    assert invoke(
        "check", "--impl", "mynet.ns:ops", "--batch", "4", "--dtype", "float64", "--targets", "onehot", "--quiet"
    ).stdout.startswith("PASSED: 12 of 36")
    assert invoke(
        "check", "--impl", "mynet.ns:table", "--batch", "4", "--dtype", "float64", "--targets", "onehot", "--quiet"
    ).stdout.startswith("PASSED: 16 of 36")


def test_noise_from_the_implementation_does_not_corrupt_json(tmp_path):
    noisy = write(
        tmp_path,
        "noisy.py",
        "import numpy as np\nprint('loading my layer')\n"
        "def softmax(x):\n    print('softmax called')\n    e = np.exp(x - x.max(-1, keepdims=True))\n"
        "    return e / e.sum(-1, keepdims=True)\n",
    )
    result = invoke("check", "--impl", noisy, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["passed"] is True
    assert "softmax called" in result.stderr


def test_library_api_with_objects_of_every_kind():
    layer_class, numpy_layer = example("layer_class"), example("numpy_layer")
    as_dict = {"softmax": numpy_layer.softmax, "softmax_backward": numpy_layer.softmax_backward}
    for impl in [
        numpy_layer,
        layer_class.SoftmaxCrossEntropy,
        layer_class.SoftmaxCrossEntropy(),
        as_dict,
        types.SimpleNamespace(**as_dict),
        NUMPY_LAYER,
    ]:
        report = smgrad.check(impl, dim=5, batch=2)
        assert report.passed
        assert all(r.status in ("passed", "skipped") for r in report)
        assert json.loads(report.to_json())["passed"] is True
    assert smgrad.check().passed  # the reference
    with pytest.raises(UsageError, match="defines none"):
        smgrad.check(object())
    with pytest.raises(UsageError, match="dim"):
        smgrad.check(NUMPY_LAYER, dim=0)


def test_assert_correct_passes_and_fails_with_the_table():
    assert assert_correct(NUMPY_LAYER, dim=4).passed
    with pytest.raises(AssertionError) as failure:
        assert_correct(str(EXAMPLES / "buggy" / "missing_mean.py"), dim=4, scenarios=("typical",))
    message = str(failure.value)
    assert "cross_entropy_grad / typical: FAIL" in message
    assert "probable cause: missing the mean over the batch" in message
    assert "analytic" in message and "numerical" in message
    assert "--impl" in message and "missing_mean.py" in message


@pytest.mark.parametrize(("dtype", "rel"), [("float64", 1e-8), ("float32", 1e-3)])
def test_small_relative_errors_in_a_user_implementation_are_caught(dtype, rel):
    numpy_layer = example("numpy_layer")
    scaled = {
        "softmax": numpy_layer.softmax,
        "softmax_jacobian": lambda x: numpy_layer.softmax_jacobian(x) * x.dtype.type(1 + rel),
        "softmax_backward": lambda x, g: numpy_layer.softmax_backward(x, g) * x.dtype.type(1 + rel),
        "cross_entropy_grad": lambda x, t: numpy_layer.cross_entropy_grad(x, t) * x.dtype.type(1 + rel),
    }
    for seed in range(5):
        report = smgrad.check(scaled, dim=10, dtype=dtype, seed=seed)
        failed = {r.name for r in report if r.status == "failed" and r.method != "reference"}
        assert {"softmax_jacobian", "softmax_backward", "cross_entropy_grad"} <= failed


def test_one_vector_and_index_targets_are_passed_as_such():
    seen = {}

    def softmax(x):
        seen["softmax"] = x.shape
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def cross_entropy(x, target):
        seen["target"] = (np.asarray(target).dtype.kind, np.shape(target))
        z = x - x.max(-1, keepdims=True)
        return -(z - np.log(np.exp(z).sum(-1, keepdims=True)))[..., target].sum()

    smgrad.check({"softmax": softmax, "cross_entropy": cross_entropy}, dim=5, batch=None, targets="index")
    assert seen == {"softmax": (5,), "target": ("i", ())}


def test_the_dtype_asked_for_is_the_dtype_passed_and_returned():
    def upcasting(x):
        e = np.exp(x.astype(np.float64) - x.max())
        return e / e.sum(-1, keepdims=True)

    report = smgrad.check({"softmax": upcasting}, dtype="float32", batch=4, scenarios=("typical",))
    (result,) = [r for r in report if r.name == "softmax"]
    assert result.status == "failed" and "returned float64 for float32 input" in result.message


@pytest.mark.parametrize(
    ("returned", "fragment"),
    [(None, "returned None, not numbers"), ("text", "not numbers"), ([[1, 2]], "returned shape (1, 2)")],
)
def test_garbage_results_are_errors_not_crashes(returned, fragment):
    report = smgrad.check(
        {"softmax_backward": lambda x, g: returned}, dim=3, batch=2, dtype="float64", scenarios=("typical",)
    )
    (result,) = [r for r in report if r.name == "softmax_backward"]
    assert result.status == "error" and fragment in result.message


def test_a_float64_result_for_float32_input_is_flagged_alike_for_arrays_and_scalars(tmp_path):
    upcast = write(
        tmp_path,
        "upcast.py",
        "import numpy as np\n"
        "def softmax(x):\n    x = x.astype(np.float64)\n    e = np.exp(x - x.max(-1, keepdims=True))\n"
        "    return e / e.sum(-1, keepdims=True)\n"
        "def softmax_backward(x, g):\n    y = softmax(x).astype(x.dtype)\n"
        "    return y * (g - (g * y).sum(-1, keepdims=True))\n"
        "def cross_entropy(x, t):\n    x = x.astype(np.float64)\n"
        "    m = x.max(-1, keepdims=True)\n    lse = m[..., 0] + np.log(np.exp(x - m).sum(-1))\n"
        "    return float(((lse[..., None] - x) * t).sum(-1).mean())\n",
    )
    report = smgrad.check(upcast, dtype="float32", dim=5)
    by_name = {}
    for r in report:
        by_name.setdefault(r.name, []).append(r)
    for name in ("softmax", "cross_entropy"):
        assert all(r.status == "failed" and "returned float64 for float32 input" in r.message for r in by_name[name])
    # Its values are right: its derivatives are checked against its own forward, and pass.
    backward = [r for r in by_name["softmax_backward"] if r.method != "reference"]
    assert all(r.status == "passed" and "wrong here" not in r.message for r in backward)


def test_a_file_whose_functions_are_methods_names_the_class_to_give():
    line = one_line_error(invoke("check", "--impl", str(EXAMPLES / "correct" / "forward_first.py")))
    assert "defines none of softmax" in line and line.endswith("forward_first.py:ForwardFirst")
