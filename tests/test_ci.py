"""What a CI job relies on: a versioned JSON schema, JUnit XML, a Markdown summary, exit
code 130 on an interrupt, and no traceback whatever the options or the implementation."""

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smgrad.cli import cli
from smgrad.report import SCHEMA_VERSION, schema

SCHEMA = schema()
# The schema is a contract: changing it means a new SCHEMA_VERSION and a new digest here.
PINNED = "b5f22dda794b1512"


def test_schema_command_prints_the_schema_of_this_version():
    printed = json.loads(invoke("schema").stdout)
    assert printed == SCHEMA
    assert printed["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    jsonschema.Draft202012Validator.check_schema(printed)


def test_schema_is_pinned():
    canonical = json.dumps(SCHEMA, sort_keys=True).encode()
    assert SCHEMA_VERSION == 5
    assert hashlib.sha256(canonical).hexdigest()[:16] == PINNED


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--dim", "1", "--batch", "none"],
        ["--dtype", "float32", "--targets", "soft", "--reduction", "sum"],
        ["--atol", "0", "--rtol", "0", "--scenarios", "typical"],
        ["--dim", "1500", "--batch", "2"],
        ["--impl", EXAMPLES / "buggy" / "diagonal_only.py"],
        ["--impl", EXAMPLES / "buggy" / "backward_raises.py"],
        ["--impl", EXAMPLES / "buggy" / "wrong_shape.py", "--mode", "fast"],
        ["--impl", EXAMPLES / "correct" / "forward_only.py", "--targets", "index"],
        ["--impl", EXAMPLES / "buggy" / "no_max_shift.py", "--method", "central"],
    ],
)
def test_every_json_report_validates_against_the_schema(args):
    result = invoke("check", "--format", "json", *args)
    assert result.exit_code in (0, 1)
    jsonschema.validate(json.loads(result.stdout), SCHEMA)


def test_junit_xml_shows_the_failing_testcases(tmp_path):
    report = tmp_path / "junit.xml"
    result = invoke("check", "--impl", EXAMPLES / "buggy" / "missing_mean.py", "--junit", report)
    assert result.exit_code == 1
    assert "cross_entropy_grad" in result.stdout  # the table still goes to stdout
    suite = ET.parse(report).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) > 0
    assert {c.get("classname") for c in failed} == {"smgrad.cross_entropy_grad", "smgrad.cross_entropy_hessian"}
    message = failed[0].find("failure").get("message")
    assert "probable cause: missing the mean" in message
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert int(suite.get("skipped")) == len(skipped) > 0


def test_junit_of_a_passing_run_has_no_failures(tmp_path):
    report = tmp_path / "junit.xml"
    assert invoke("check", "--dim", "4", "--junit", report, "--quiet").exit_code == 0
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert all(c.find("failure") is None for c in suite.findall("testcase"))


def test_markdown_summary_is_appended_on_github(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert invoke("check", "--dim", "4", "--quiet").exit_code == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "| check | scenario | method | error | allowed | result |" in text
    assert "`smgrad check --dim 4" in text


def test_a_keyboard_interrupt_raised_by_the_implementation_is_a_failed_check(tmp_path):
    impl = tmp_path / "interrupted.py"
    impl.write_text("def softmax(x):\n    raise KeyboardInterrupt\n")
    result = invoke("check", "--impl", impl, "--format", "json")
    assert result.exit_code == 1
    errors = {c["message"] for c in json.loads(result.stdout)["checks"] if c["status"] == "error"}
    assert errors == {"softmax raised KeyboardInterrupt (interrupted.py:2)"}
    assert "Traceback" not in result.stderr


BEHAVIOURS = {
    "correct": "e = np.exp(x - x.max(-1, keepdims=True)); return e / e.sum(-1, keepdims=True)",
    "raises": "raise RuntimeError('boom')",
    "nan": "return np.full_like(x, np.nan)",
    "wrong shape": "return x[..., :1]",
    "float32": "return np.zeros_like(x, dtype=np.float32)",
    "none": "return None",
    "list": "return x.tolist()",
    "huge": "return np.full_like(x, 1e308)",
    "prints": "print('noise'); return x * 0 + 1 / x.shape[-1]",
    "string": "return 'softmax'",
    "exits 0": "sys.exit(0)",
    "exits 3": "sys.exit(3)",
    "base exception": "raise type('Odd', (BaseException,), {})('odd')",
    "interrupts itself": "raise KeyboardInterrupt",
    "writes to fd 1": "os.write(1, b'FD1 NOISE'); return np.full_like(x, 1 / x.shape[-1])",
    "hangs": "time.sleep(2); return x",
}


def _write_impl(folder, softmax: str, backward: str) -> Path:
    impl = folder / "impl.py"
    impl.write_text(
        "import os, sys, time\nimport numpy as np\n"
        f"def softmax(x):\n    {BEHAVIOURS[softmax]}\n"
        f"def softmax_backward(x, g):\n    {BEHAVIOURS[backward].replace('return x', 'return g')}\n"
    )
    return impl


# Behaviours that give nothing to check: a run of only these must never exit 0.
NOTHING = {"raises", "none", "string", "exits 0", "exits 3", "base exception", "interrupts itself", "hangs"}


def _no_traceback(args, nothing_checked: bool = False):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in ((1, 2) if nothing_checked else (0, 1, 2)), (args, result.exception)
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    else:
        jsonschema.validate(json.loads(result.stdout), SCHEMA)
    return result


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(
    softmax=st.sampled_from(list(BEHAVIOURS)),
    backward=st.sampled_from(list(BEHAVIOURS)),
    dim=st.integers(1, 12),
    batch=st.sampled_from(["1", "3", "none"]),
    dtype=st.sampled_from(["float64", "float32"]),
    method=st.sampled_from(["auto", "complex", "central"]),
    mode=st.sampled_from(["full", "fast"]),
    targets=st.sampled_from(["onehot", "soft", "index"]),
)
def test_fuzz_implementation_behaviours(
    tmp_path_factory, capfd, softmax, backward, dim, batch, dtype, method, mode, targets
):
    folder = tmp_path_factory.mktemp("impl")
    impl = _write_impl(folder, softmax, backward)
    junit = folder / "junit.xml"
    junit.write_text("OLD")
    result = _no_traceback(
        [
            "check",
            "--impl",
            impl,
            "--dim",
            dim,
            "--batch",
            batch,
            "--dtype",
            dtype,
            "--method",
            method,
            "--mode",
            mode,
            "--targets",
            targets,
            "--scenarios",
            "typical,overflow",
            "--timeout",
            "0.05",  # a hang costs this much once: the fuzz stays quick
            "--junit",
            junit,
            "--format",
            "json",
        ],
        nothing_checked={softmax, backward} <= NOTHING,
    )
    report = junit.read_text()
    assert report == "OLD" if result.exit_code == 2 else ET.fromstring(report).tag == "testsuites"
    assert "FD1 NOISE" not in capfd.readouterr().out  # descriptor 1 went to standard error


@FUZZ
@given(
    options=st.lists(
        st.sampled_from(
            [
                ["--dim", "0"],
                ["--dim", "-1"],
                ["--dim", "x"],
                ["--dim", "1e3"],
                ["--dim", "3"],
                ["--batch", "0"],
                ["--batch", "two"],
                ["--batch", "none"],
                ["--dtype", "float16"],
                ["--method", "secant"],
                ["--rtol", "nan"],
                ["--atol", "inf"],
                ["--atol", "0"],
                ["--step", "-1"],
                ["--step", "1e-3"],
                ["--scale", "0"],
                ["--scale", "1e3"],
                ["--seed", "-2"],
                ["--seed", "7"],
                ["--targets", "index"],
                ["--label-smoothing", "1"],
                ["--label-smoothing", "0.1"],
                ["--target-sum", "0"],
                ["--mode", "sideways"],
                ["--max-memory", "1KB"],
                ["--scenarios", ","],
                ["--impl", ""],
                ["--impl", "no/such.py"],
                ["--format", "yaml"],
                ["--no-such-flag"],
                ["--dim", str(10**9)],
            ]
        ),
        max_size=4,
    )
)
def test_fuzz_option_values(options):
    args = ["check", "--format", "json", "--scenarios", "typical"]
    for pair in options:
        args += pair
    _no_traceback(args)


def _project(tmp_path, table: str) -> Path:
    (tmp_path / "layers.py").write_text((EXAMPLES / "correct" / "numpy_layer.py").read_text())
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mynet"\n\n[tool.smgrad]\n' + table)
    return tmp_path


def test_a_project_table_is_checked_by_plain_smgrad_check(tmp_path, monkeypatch):
    project = _project(
        tmp_path, 'impl = "layers.py"\ndims = [2, 10]\nseeds = "0..2"\ndtypes = ["float64", "float32"]\n'
    )
    (project / "src").mkdir()
    monkeypatch.chdir(project / "src")  # found from a subfolder too
    result = invoke("check", "--format", "json")
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["config"]["dim"] == [2, 10] and data["config"]["seed"] == [0, 1, 2]
    assert data["config"]["dtype"] == ["float64", "float32"] and data["summary"]["runs"] == 12
    assert {(c["dim"], c["seed"], c["dtype"]) for c in data["checks"]} == {
        (n, k, t) for n in (2, 10) for k in (0, 1, 2) for t in ("float64", "float32")
    }


def test_command_line_options_override_the_project_table(tmp_path, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, 'impl = "layers.py"\ndim = 7\nscenarios = ["typical"]\n'))
    data = json.loads(invoke("check", "--format", "json", "--dim", "3").stdout)
    assert data["config"]["dim"] == [3] and data["config"]["scenarios"] == ["typical"]
    assert data["config"]["impl"].endswith("layers.py")


def test_an_unknown_key_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, "dimz = 3\n"))
    result = invoke("check")
    assert result.exit_code == 2
    assert result.stderr.startswith("smgrad: error: pyproject.toml: [tool.smgrad] unknown key 'dimz'; known keys: dim,")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--seed", "3..1"], "empty range"), (["--dim", "2,x"], "'x'"), (["--dtype", "float64,float8"], "float8")],
)
def test_bad_lists_are_usage_errors(args, fragment):
    result = invoke("check", *args)
    assert result.exit_code == 2 and fragment in result.stderr


def test_several_runs_make_one_report_and_one_reproducing_command():
    result = invoke(
        "check", "--dim", "2,5", "--batch", "4", "--dtype", "float64", "--seed", "0..3", "--scenarios", "typical"
    )
    assert result.exit_code == 0
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("PASSED: all 72 checks") and "--dim 2,5" in last and "--seed 0..3" in last
    assert "\x1b" not in result.stdout  # no progress bar where there is no terminal


def test_progress_bar_on_a_terminal_only_and_on_stderr(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich takes standard error for a terminal
    table = invoke("check", "--dim", "2", "--seed", "0..5", "--scenarios", "typical")
    assert "checking" in table.stderr and "checking" not in table.stdout
    as_json = invoke("check", "--dim", "2", "--seed", "0..5", "--scenarios", "typical", "--format", "json")
    assert "checking" not in as_json.stdout + as_json.stderr
    json.loads(as_json.stdout)


def test_ctrl_c_in_a_long_run_exits_130(tmp_path):
    """Ctrl-C while smgrad differentiates (mostly its own numerics between the calls of a
    correct softmax), sent once the run is under way rather than after a guessed sleep."""
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "called"
    impl = tmp_path / "impl.py"
    impl.write_text(
        "import numpy as np\n"
        f"def softmax(x):\n    open({str(marker)!r}, 'w').close()\n"
        "    e = np.exp(x - x.max(-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)\n"
        "def softmax_backward(x, g):\n    y = softmax(x)\n    return y * (g - (g * y).sum(-1, keepdims=True))\n"
    )
    command = [sys.executable, "-m", "smgrad", "check", "--impl", str(impl), "--dim", "3000", "--mode", "full"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    time.sleep(0.2)  # on into the numerical Jacobian
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == "smgrad: error: interrupted"
