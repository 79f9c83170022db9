"""Every way a user's code or environment can end a run ends it cleanly: never exit 0
when nothing was checked, never smgrad's exit status taken over by the code under test,
never a traceback, never a truncated report."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, invoke, one_line_error

import smgrad
from smgrad import config
from smgrad.errors import UsageError
from smgrad.testing import assert_correct

SOFTMAX = "    e = np.exp(x - x.max(-1, keepdims=True))\n    return e / e.sum(-1, keepdims=True)\n"


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("import sys, os, time\nimport numpy as np\n" + body)
    return path


def errors_of(result) -> set[str]:
    return {c["message"] for c in json.loads(result.stdout)["checks"] if c["status"] == "error"}


def smgrad_process(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "smgrad", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def slow_implementation(folder: Path) -> tuple[Path, Path]:
    """An implementation that says when it is first called, then takes its time: a
    signal sent after the marker appears reaches a run in progress, not start-up."""
    marker = folder / "called"
    impl = write(folder, "slow.py", f"def softmax(x):\n    open({str(marker)!r}, 'w').close()\n    time.sleep(30)\n")
    return impl, marker


def signal_when_called(process: subprocess.Popen, marker: Path, signum: int) -> str:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signum)
    return process.communicate(timeout=60)[1]


# -- 1. whatever the implementation raises or exits with ---------------------------------


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("sys.exit(0)", "softmax raised SystemExit: 0 (impl.py:4)"),
        ("sys.exit(3)", "softmax raised SystemExit: 3 (impl.py:4)"),
        ("sys.exit()", "softmax raised SystemExit: None (impl.py:4)"),
        ("sys.exit('msg')", "softmax raised SystemExit: msg (impl.py:4)"),
        ("raise KeyboardInterrupt", "softmax raised KeyboardInterrupt (impl.py:4)"),
        ("raise GeneratorExit('gen')", "softmax raised GeneratorExit: gen (impl.py:4)"),
        ("raise type('Odd', (BaseException,), {})('odd')", "softmax raised Odd: odd (impl.py:4)"),
    ],
)
def test_anything_a_function_raises_is_a_failed_check_with_its_line(tmp_path, statement, message):
    impl = write(tmp_path, "impl.py", f"def softmax(x):\n    {statement}\n")
    report_file = tmp_path / "junit.xml"
    result = invoke(
        "check",
        "--impl",
        impl,
        "--batch",
        "4",
        "--dtype",
        "float64",
        "--targets",
        "onehot",
        "--format",
        "json",
        "--junit",
        report_file,
    )
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert errors_of(result) == {message}
    suite = ET.parse(report_file).getroot().find("testsuite")
    assert int(suite.get("errors")) == 4  # softmax in each scenario


@pytest.mark.parametrize("statement", ["sys.exit(0)", "sys.exit(4)", "raise KeyboardInterrupt", "raise SystemExit"])
def test_anything_raised_at_import_is_a_usage_error_naming_file_and_line(tmp_path, statement):
    impl = write(tmp_path, "impl.py", f"{statement}\n")
    line = one_line_error(invoke("check", "--impl", impl))
    assert "impl.py': importing it raised" in line and "(impl.py:3)" in line


def test_a_real_ctrl_c_is_still_an_interrupt_while_the_implementation_runs(tmp_path):
    impl, marker = slow_implementation(tmp_path)
    process = smgrad_process("check", "--impl", impl, "--timeout", "0")
    err = signal_when_called(process, marker, signal.SIGINT)
    assert process.returncode == 130
    assert err.strip() == "smgrad: error: interrupted"


def test_sigterm_ends_a_run_with_one_line_and_143(tmp_path):
    impl, marker = slow_implementation(tmp_path)
    process = smgrad_process("check", "--impl", impl)
    err = signal_when_called(process, marker, signal.SIGTERM)
    assert process.returncode == 143
    assert err.strip() == "smgrad: error: terminated (SIGTERM)"


# -- 2. writes to descriptor 1 -------------------------------------------------------------


def test_writes_to_descriptor_1_go_to_stderr_and_json_stays_whole(tmp_path):
    impl = write(
        tmp_path,
        "noisy.py",
        "os.write(1, b'import noise\\n')\n"
        "def softmax(x):\n"
        "    os.write(1, b'fd noise\\n')\n"
        "    sys.__stdout__.write('dunder noise\\n')\n"
        "    print('print noise')\n" + SOFTMAX,
    )
    process = smgrad_process(
        "check", "--impl", impl, "--format", "json", "--batch", "4", "--dtype", "float64", "--scenarios", "typical"
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert json.loads(out)["passed"] is True
    for noise in ("import noise", "fd noise", "dunder noise", "print noise"):
        assert noise in err and noise not in out


# -- 3. hangs -------------------------------------------------------------------------------


def test_a_function_that_hangs_fails_once_and_is_not_called_again(tmp_path):
    calls = tmp_path / "calls"
    impl = write(
        tmp_path,
        "hangs.py",
        f"def softmax(x):\n{SOFTMAX}"
        f"def softmax_backward(x, g):\n    open({str(calls)!r}, 'a').write('.')\n    while True:\n        pass\n",
    )
    result = invoke("check", "--impl", impl, "--timeout", "0.3", "--format", "json")
    assert result.exit_code == 1
    messages = errors_of(result)
    assert "softmax_backward did not return within 0.3 s (timeout)" in messages
    assert "softmax_backward did not return within 0.3 s (timeout) (not called again)" in messages
    assert calls.read_text() == "."
    statuses = {c["name"]: c["status"] for c in json.loads(result.stdout)["checks"] if c["scenario"] == "typical"}
    assert statuses["softmax"] == "passed"


def test_timeout_is_an_option_everywhere(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.smgrad]\ntimeout = 0\n")
    result = invoke("check", "--dim", "2", "--format", "json", "--no-config")
    assert json.loads(result.stdout)["config"]["timeout"] == 60.0
    assert smgrad.check(dim=2, timeout=0).config.timeout == 0
    with pytest.raises(UsageError, match="timeout"):
        smgrad.check(timeout=-1)


# -- 4, 6. report files ---------------------------------------------------------------------


def test_an_interrupted_run_leaves_an_existing_report_as_it_was(tmp_path):
    impl, marker = slow_implementation(tmp_path / "impl")
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    report.write_text("old report\n")
    junit.write_text("old junit\n")
    process = smgrad_process("check", "--impl", impl, "--output", report, "--junit", junit)
    signal_when_called(process, marker, signal.SIGINT)
    assert process.returncode == 130
    assert report.read_text() == "old report\n" and junit.read_text() == "old junit\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["impl", "junit.xml", "report.json"]  # no temporary


def test_a_report_replaces_the_old_one_whole_and_keeps_its_permissions(tmp_path):
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    assert invoke("check", "--dim", "2", "--format", "json", "--output", report).exit_code == 0
    assert json.loads(report.read_text())["passed"] is True
    assert report.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("option", ["--output", "--junit"])
def test_a_full_disk_is_one_line_and_exit_2(option):
    line = one_line_error(invoke("check", "--dim", "2", option, "/dev/full"))
    assert line == f"smgrad: error: cannot write {option} '/dev/full': No space left on device"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("no/such/folder/r.json", "no such folder"), (".", "it is a directory")],
)
def test_a_report_that_can_never_be_written_is_refused_before_the_run(tmp_path, monkeypatch, path, fragment):
    monkeypatch.chdir(tmp_path)
    assert fragment in one_line_error(invoke("check", "--output", path))


# -- 5. smgrad's own frames -----------------------------------------------------------------


def test_the_users_line_is_named_even_in_a_folder_called_smgrad(tmp_path):
    impl = write(tmp_path / "smgrad" / "examples", "raises.py", "def softmax(x):\n    raise ValueError('boom')\n")
    report = smgrad.check(str(impl), dim=3, scenarios="typical")
    (message,) = {r.message for r in report if r.status == "error"}
    assert message == "softmax raised ValueError: boom (raises.py:4)"


# -- 7, 8. numbers that do not fit ----------------------------------------------------------


def test_jacobian_of_logits_too_large_to_differentiate_is_refused_in_one_line():
    line = one_line_error(invoke("jacobian", "--dtype", "float32", "--scale", "1e10"))
    assert "no numerical derivative" in line


def test_a_structure_fact_on_a_non_finite_jacobian_fails_instead_of_raising():
    from smgrad.explain.jacobian import _negative_eigenvalue

    assert _negative_eigenvalue(float("nan") * __import__("numpy").ones((3, 3))) == float("inf")


def test_an_allocation_that_fails_is_one_line_naming_the_size(monkeypatch):
    args = ("check", "--dim", str(10**12), "--batch", "1", "--max-memory", "100TB")
    line = one_line_error(invoke(*args))  # refused before drawing: more than the machine has
    assert "of logits and targets, over half of this machine's memory" in line
    monkeypatch.setattr(config, "physical_memory", lambda: 2**60)  # a machine that says it has 1 EiB
    line = one_line_error(invoke(*args))
    assert line.startswith("smgrad: error: out of memory: Unable to allocate") and "TiB" in line


# -- 9, 10. the project table ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("quiet = 5", "quiet: expected true or false, got 5"),
        ("batch = true", "batch: expected a whole number or 'none', got true"),
        ("junit = true", "junit: expected a string, got true"),
        ("output = 1", "output: expected a string, got 1"),
        ("rtol = true", "rtol: expected a number, got true"),
        (
            "max_memory = 1024",
            'max_memory: 1024 is less than 1 MiB (a bare number is bytes); give a size such as "1GiB"',
        ),
        ("dims = [2, 3]\ndim = 5", "'dims' and 'dim' both set dim; keep one"),
        (
            "dtypes = ['float64', 32]",
            "dtypes: expected dtypes from float64, float32, bfloat16, float16, got 32 in a list ['float64', 32]",
        ),
        ("scenarios = 'typical,nope'", "scenarios: unknown scenario 'nope'"),
    ],
)
def test_every_key_of_the_table_is_checked_naming_file_and_key(tmp_path, monkeypatch, table, message):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.smgrad]\n{table}\n')
    monkeypatch.chdir(tmp_path)
    line = one_line_error(invoke("check"))
    assert line.startswith(f"smgrad: error: pyproject.toml: [tool.smgrad] {message}"), line


def test_a_broken_pyproject_breaks_only_check_which_names_file_and_line(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion =\n')
    monkeypatch.chdir(tmp_path)
    for command in (["--help"], ["schema"], ["jacobian", "--dim", "3"], ["check", "--help"]):
        assert invoke(*command).exit_code == 0, command
    line = one_line_error(invoke("check"))
    assert "pyproject.toml: not valid TOML" in line and "line 3" in line and "--no-config" in line
    result = invoke("check", "--no-config", "--dim", "2", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["config"]["config_file"] is None


def test_the_applied_file_is_named_and_its_paths_are_relative_to_it(tmp_path, monkeypatch):
    (tmp_path / "layers.py").write_text((EXAMPLES / "correct" / "numpy_layer.py").read_text())
    (tmp_path / "out").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.smgrad]\nimpl = "layers.py"\ndim = 3\noutput = "out/report.json"\njunit = "out/junit.xml"\n'
        'format = "json"\n'
    )
    (tmp_path / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src" / "deep")
    result = invoke("check")
    assert result.exit_code == 0, result.stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["config"]["config_file"] == os.path.join("..", "..", "pyproject.toml")
    assert data["config"]["impl"] == os.path.join("..", "..", "layers.py")
    assert ET.parse(tmp_path / "out" / "junit.xml").getroot().tag == "testsuites"
    table = invoke("check", "--format", "table", "--output", "-")
    assert table.exit_code == 2 or "defaults from [tool.smgrad] in" in (tmp_path / "src" / "deep" / "-").read_text()
    shown = invoke("check", "--format", "table", "--output", tmp_path / "table.txt")
    assert shown.exit_code == 0
    assert "defaults from [tool.smgrad] in ../../pyproject.toml" in (tmp_path / "table.txt").read_text()


# -- 11, 12. checks without power ----------------------------------------------------------


def test_a_step_that_leaves_no_power_is_never_an_ok():
    result = invoke("check", "--step", "1e300", "--batch", "4", "--dtype", "float64", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["summary"]["inconclusive"] > 0
    numerical = [c for c in data["checks"] if c["method"] not in (None, "reference")]
    assert numerical and all(c["status"] == "inconclusive" for c in numerical)
    assert all("no power" in c["message"] for c in numerical)
    quiet = invoke("check", "--step", "1e300", "--quiet")
    assert quiet.stdout.startswith("NOT VERIFIED: ") and quiet.exit_code == 1


def test_loose_tolerances_that_could_pass_anything_are_not_a_pass():
    report = smgrad.check(rtol=1, batch=4, dtype="float64", scenarios="typical")
    assert not report.passed
    assert {r.status for r in report} == {"inconclusive", "passed"}


@pytest.mark.parametrize(("dtype", "scale"), [("float64", 1e18), ("float32", 1e9)])
def test_logits_too_large_to_differentiate_are_refused_not_failed(dtype, scale):
    line = one_line_error(invoke("check", "--dtype", dtype, "--scale", scale))
    assert "no numerical derivative can resolve it" in line


@pytest.mark.parametrize(("dtype", "scale"), [("float64", 4e15), ("float32", 8e6)])
def test_the_reference_never_fails_at_the_largest_scale_allowed(dtype, scale):
    for seed in range(3):
        report = smgrad.check(dtype=dtype, scale=scale, seed=seed, dim=[2, 7])
        assert not any(r.status in ("failed", "error") for r in report), [
            (r.name, r.scenario, r.message) for r in report if r.status in ("failed", "error")
        ]


# -- 13, 14, 15. the library ----------------------------------------------------------------


def test_assert_correct_says_the_verdict_first_and_hides_its_frames():
    with pytest.raises(AssertionError) as failure:
        assert_correct(
            str(EXAMPLES / "buggy" / "diagonal_only.py"), dim=4, batch=4, dtype="float64", scenarios="typical"
        )
    first = str(failure.value).splitlines()[0]
    assert first.startswith("softmax_jacobian failed in 1 scenario: probable cause: only the diagonal")
    assert "softmax_backward failed in 1 scenario" in first
    frames = [entry for entry in failure.traceback if entry.frame.f_globals.get("__name__", "").startswith("smgrad")]
    assert all(entry.ishidden(failure) for entry in frames)


def _module(path: Path):
    spec = importlib.util.spec_from_file_location("given_as_object", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["given_as_object"] = module
    spec.loader.exec_module(module)
    return module


def test_an_implementation_given_as_an_object_is_named_in_the_command_to_reproduce():
    from smgrad.render import plain_text

    module = _module(EXAMPLES / "buggy" / "missing_mean.py")
    report = smgrad.check(module, dim=3, scenarios="typical")
    last = plain_text(report).strip().splitlines()[-1]
    assert "--impl" in last and "missing_mean.py" in last
    anonymous = smgrad.check({"cross_entropy_grad": module.cross_entropy_grad}, dim=3, scenarios="typical")
    last = plain_text(anonymous).strip().splitlines()[-1]
    assert last.endswith(" (with the implementation <dict object>, given as an object: no --impl names it)")


def test_the_library_takes_the_values_the_command_line_takes():
    report = smgrad.check(dim=[2, 10], seed="0..2", scenarios="typical", dtype="float64,float32")
    assert len(report.runs) == 12 and report.passed
    assert {(c.dim, c.seed, c.dtype) for c in report.runs} == {
        (n, k, t) for n in (2, 10) for k in range(3) for t in ("float64", "float32")
    }
    assert {r.scenario for r in report} == {"typical"}
    with pytest.raises(UsageError, match="unknown option 'dimz'"):
        smgrad.check(dimz=3)
    with pytest.raises(UsageError, match="dim: expected whole numbers"):
        smgrad.check(dim=True)


# -- 16. narrow terminals -------------------------------------------------------------------


@pytest.mark.parametrize("dim", [7, 12])
def test_jacobian_at_80_columns_shows_every_number_whole(dim):
    result = invoke("jacobian", "--dim", dim, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    assert sum(line.count("0.") + line.count("e-") for line in lines) >= 3 * dim * dim


# -- 17. messages ---------------------------------------------------------------------------


def test_messages_name_the_real_problem(tmp_path):
    (tmp_path / "folder").mkdir()
    assert "is a directory" in one_line_error(invoke("check", "--impl", tmp_path / "folder"))
    missing = one_line_error(invoke("check", "--impl", f"{EXAMPLES / 'correct' / 'numpy_layer.py'}:Nope"))
    assert "numpy_layer.py has no 'Nope'" in missing and "smgrad_impl" not in missing
    impl = write(
        tmp_path,
        "cls.py",
        "class Layer:\n    def __init__(self, n):\n        pass\n    def softmax(self, x):\n        return x\n",
    )
    line = one_line_error(invoke("check", "--impl", f"{impl}:Layer"))
    assert "constructing Layer() raised TypeError" in line and "missing 1 required positional argument" in line
    assert "empty item in '2,,3'" in one_line_error(invoke("check", "--dim", "2,,3"))
    help_text = invoke("check", "--help").stdout
    assert "or both" not in help_text


# -- 18. the README -------------------------------------------------------------------------


def test_a_stale_readme_output_is_shown_as_a_diff():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "docs" / "update_readme.py")
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    current = f"```\n$ smgrad --version\nsmgrad {smgrad.__version__}\n```\n"
    assert update.stale(current) == ""
    diff = update.stale("```\n$ smgrad --version\nsmgrad 0.0.0-stale\n```\n")
    assert "-smgrad 0.0.0-stale" in diff and f"+smgrad {smgrad.__version__}" in diff
    # What differs between machines in a correct run's last digits is not staleness; a
    # verdict, an index, a version or a number off by more than 10x is.
    row = "softmax_jacobian peaked complex {} {} 4e-13 {}"
    assert update._alike(row.format("1.5e-64", "2.7e-61", "ok"), row.format("1.3e-88", "5.1e-85", "ok"))
    assert update._alike(row.format("2.2e-19", "6.0e-17", "ok"), row.format("0", "4.6e-16", "ok"))
    assert not update._alike(row.format("2.2e-19", "6.0e-17", "ok"), row.format("2.2e-19", "6.0e-17", "FAIL"))
    assert not update._alike(row.format("3.1e-05", "1.3e-18", "ok"), row.format("3.1e-03", "1.3e-18", "ok"))
    assert not update._alike("(0, 9, 4)  0  -3.06e-05", "(0, 1, 2)  0  -3.06e-05")
    assert not update._alike("smgrad 0.1.0", "smgrad 0.2.0")


def test_a_timer_the_caller_set_is_left_alone(tmp_path):
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        impl = write(tmp_path, "quick.py", f"def softmax(x):\n{SOFTMAX}")
        assert smgrad.check(str(impl), dim=3, scenarios="typical", timeout=5).passed
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 30  # still running: not cancelled by smgrad's own time limit
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_os_exit_in_the_implementation_cannot_end_the_run(tmp_path):
    impl = write(tmp_path, "exits.py", "def softmax(x):\n    os._exit(0)\n")
    process = smgrad_process(
        "check", "--impl", impl, "--format", "json", "--batch", "4", "--dtype", "float64", "--scenarios", "typical"
    )
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    (check,) = [c for c in json.loads(out)["checks"] if c["status"] == "error"]
    assert check["message"] == "softmax raised SystemExit: os._exit(0) (exits.py:4)"
