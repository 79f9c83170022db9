"""The command line, through click's CliRunner: exit codes, parsed JSON, stderr."""

import json
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import invoke

from smgrad.checks import CHECKS
from smgrad.cli import cli
from smgrad.problems import SCENARIOS

README = Path(__file__).resolve().parents[1] / "README.md"
CHECK_KEYS = {
    "name",
    "scenario",
    "status",
    "method",
    "max_abs_error",
    "max_rel_error",
    "atol",
    "rtol",
    "step",
    "resolves",
    "weak",
    "precision",
    "worst",
    "entries",
    "message",
    "diagnosis",
    "dim",
    "seed",
    "dtype",
    "covers",
}


def test_check_passes_on_the_reference_and_shows_every_check():
    result = invoke("check", "--dim", "10")
    assert result.exit_code == 0, result.output
    for name in CHECKS:
        assert name in result.stdout
    for scenario in SCENARIOS:
        assert scenario in result.stdout
    assert "PASSED" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    # The default run also covers B = 1, B = n, a 1-D vector and soft and smoothed targets
    # (row independence is skipped on one row); repeating it must not narrow it.
    assert "also covered (typical scenario): float32, B = 1" in result.stdout
    assert last == "PASSED: 88 of 90 checks (2 skipped) · smgrad check --dim 10 --seed 0 --dtype float64"


def test_json_has_the_documented_shape():
    result = invoke(
        "check", "--dim", "6", "--batch", "4", "--dtype", "float64", "--targets", "onehot", "--format", "json"
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"schema_version", "passed", "summary", "config", "checks"}
    assert data["passed"] is True
    assert data["summary"] == {
        "passed": 36,
        "failed": 0,
        "skipped": 0,
        "error": 0,
        "inconclusive": 0,
        "total": 36,
        "runs": 1,
        "mode": "full",
    }
    assert data["config"]["dim"] == [6] and data["config"]["batch"] == 4
    assert len(data["checks"]) == len(CHECKS) * len(SCENARIOS)
    for check in data["checks"]:
        assert set(check) == CHECK_KEYS
        assert check["status"] == "passed"
        assert check["worst"]["error"] <= check["worst"]["allowed"] or check["name"] == "identities"


def test_impossible_tolerances_force_a_failure_with_the_worst_entries():
    result = invoke(
        "check", "--dim", "5", "--batch", "4", "--dtype", "float64", "--atol", "0", "--rtol", "0", "--format", "json"
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False
    failed = [c for c in data["checks"] if c["status"] == "failed"]
    assert failed
    for check in failed:
        worst = check["worst"]
        assert worst["error"] > worst["allowed"] == 0
        assert check["atol"] == 0 and check["rtol"] == 0
        rank = {"cross_entropy": 0, "softmax_jacobian": 3, "cross_entropy_hessian": 3}.get(check["name"], 2)
        assert len(worst["index"]) == rank


def test_failure_table_lists_entries_and_the_command_to_reproduce():
    result = invoke("check", "--dim", "3", "--atol", "0", "--rtol", "0", "--scenarios", "typical", "--seed", "5")
    assert result.exit_code == 1
    assert "FAILED" in result.stdout
    assert "softmax_jacobian / typical: FAIL" in result.stdout
    assert "analytic" in result.stdout and "numerical" in result.stdout
    assert "--seed 5" in result.stdout and "--atol 0.0" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--dim", "0"], "--dim"),
        (["--dim", "-3"], "--dim"),
        (["--dim", "abc"], "not a whole number"),
        (["--batch", "0"], "--batch"),
        (["--method", "secant"], "--method"),
        (["--dtype", "float8"], "--dtype"),
        (["--step", "-1"], "--step"),
        (["--step", "0"], "--step"),
        (["--rtol", "nan"], "finite"),
        (["--atol", "inf"], "finite"),
        (["--scale", "0"], "--scale"),
        (["--scenarios", "typical,bogus"], "bogus"),
        (["--targets", "hard"], "--targets"),
        (["--format", "xml"], "--format"),
        (["--dim", "100000000"], "raise --max-memory"),
        (["--dim", "100000", "--mode", "full"], "use --mode fast"),
        (["--output", "/nonexistent/dir/report.json"], "cannot write"),
        (["--no-such-option"], "no-such-option"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, fragment):
    result = invoke("check", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("smgrad: error:")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error():
    result = invoke("chekc")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_one_vector_float32_soft_targets_sum_reduction():
    result = invoke(
        "check",
        "--dim",
        "7",
        "--batch",
        "none",
        "--dtype",
        "float32",
        "--targets",
        "soft",
        "--reduction",
        "sum",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["config"]["batch"] is None and data["config"]["dtype"] == ["float32"]
    jac = [c for c in data["checks"] if c["name"] == "softmax_jacobian"]
    assert all(len(c["worst"]["index"]) == 2 for c in jac)  # no batch axis for one vector


@pytest.mark.parametrize("method", ["forward", "backward", "central", "richardson", "complex"])
def test_every_method_passes_the_reference(method):
    result = invoke("check", "--dim", "8", "--method", method, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {c["method"] for c in data["checks"] if c["method"]} == {method}


def test_output_file_and_quiet(tmp_path):
    out = tmp_path / "report.json"
    result = invoke("check", "--dim", "4", "--format", "json", "--output", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text())["passed"] is True
    assert result.stdout.strip().startswith("PASSED")
    quiet = invoke("check", "--dim", "4", "--quiet")
    assert quiet.stdout.strip().splitlines() == [quiet.stdout.strip()]
    assert quiet.stdout.startswith("PASSED")
    table = tmp_path / "report.txt"
    invoke("check", "--dim", "4", "--output", str(table), "--quiet")
    assert "softmax_jacobian" in table.read_text()


def test_markdown_report():
    result = invoke("check", "--dim", "4", "--format", "markdown")
    assert result.exit_code == 0
    assert "| check | scenario | method | error | allowed | result |" in result.stdout
    assert "`smgrad check --dim 4" in result.stdout


def test_jacobian_command():
    result = invoke("jacobian", "--dim", "4", "--seed", "1")
    assert result.exit_code == 0
    for title in ("analytic", "numerical", "analytic − numerical", "worst entry", "symmetric", "y(1−y)"):
        assert title in result.stdout
    data = json.loads(invoke("jacobian", "--dim", "3", "--format", "json").stdout)
    assert data["passed"] is True
    assert all(f["holds"] for f in data["facts"])
    assert len(data["analytic"]) == 3
    assert invoke("jacobian", "--dim", "13").exit_code == 2


def test_jacobian_widens_its_bound_for_a_large_step_and_says_when_it_has_no_power():
    # A step of 0.5 puts forward differences far off; the bound grows with the step
    # (truncation M h / 2 = h / 8) and still covers it, so the command passes, honestly.
    result = invoke("jacobian", "--method", "forward", "--step", "0.5", "--format", "json")
    data = json.loads(result.stdout)
    worst = data["worst"]["error"]
    assert worst > 1e-3 and worst <= data["bound"] and data["bound"] >= 0.5 / 8
    assert result.exit_code == 0 and data["passed"] and not data["powerless"]
    # A step of 100 allows an error larger than any entry of J: no power, exit 1.
    result = invoke("jacobian", "--method", "forward", "--step", "100", "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["powerless"] and not data["passed"]


def test_version_comes_from_package_metadata():
    result = invoke("--version")
    assert result.stdout.strip() == f"smgrad {version('smgrad')}"


def test_every_command_is_documented_with_an_example():
    pages = [README, *sorted((README.parent / "docs").glob("*.md"))]
    readme = README.read_text()
    for name, command in cli.commands.items():
        shown = [p for p in pages if f"smgrad {name}" in p.read_text()]
        assert shown, f"no page shows 'smgrad {name}'"
        assert shown[0] == README or f"({shown[0].relative_to(README.parent)})" in readme, (
            f"README links no page on {name}"
        )
        assert "Example" in (command.help or ""), f"'smgrad {name} --help' has no example"


def test_colour_only_when_forced_and_never_with_no_color(monkeypatch):
    plain = invoke("check", "--dim", "3", "--scenarios", "typical")
    assert "\x1b[" not in plain.stdout  # not a terminal: no escape codes at all
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = invoke("check", "--dim", "3", "--scenarios", "typical")
    assert "\x1b[32m" in coloured.stdout  # green "ok"
    monkeypatch.setenv("NO_COLOR", "1")
    no_color = invoke("check", "--dim", "3", "--scenarios", "typical")
    assert "\x1b[32m" not in no_color.stdout and "\x1b[31m" not in no_color.stdout


def test_index_targets_and_every_scenario_alone():
    for scenario in SCENARIOS:
        result = invoke(
            "check",
            "--dim",
            "5",
            "--batch",
            "4",
            "--dtype",
            "float64",
            "--targets",
            "index",
            "--scenarios",
            scenario,
            "--format",
            "json",
        )
        assert result.exit_code == 0
        data = json.loads(result.stdout)
        assert {c["scenario"] for c in data["checks"]} == {scenario}
        assert data["config"]["targets"] == "index"
