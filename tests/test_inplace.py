"""A function that overwrites its input (issue 13, part 5): its own finding, the checks on
copies, and ``allow_inplace`` turning the finding into a note."""

from __future__ import annotations

from conftest import EXAMPLES, invoke

import smgrad

MUTATES = EXAMPLES / "buggy" / "mutates_input.py"


def test_overwriting_the_input_fails_with_what_it_means_for_a_caller():
    report = smgrad.check(MUTATES, scenarios="typical", batch=3)
    softmax = [r for r in report if r.name == "softmax"]
    assert softmax and {r.status for r in softmax} == {"failed"}
    assert "overwrites its input x in place; a caller that reuses it gets what was written there" in softmax[0].message
    # The values were checked on a copy and are right: the finding is all that failed.
    assert all(e.deviation <= e.allowed for r in softmax for e in r.worst)


def test_allow_inplace_turns_the_finding_into_a_note():
    report = smgrad.check(MUTATES, scenarios="typical", batch=3, allow_inplace=True)
    assert report.passed
    softmax = [r for r in report if r.name == "softmax"]
    assert all("overwrites its input x in place" in r.message and "allowed" in r.message for r in softmax)
    result = invoke("check", "--impl", MUTATES, "--scenarios", "typical", "--allow-inplace", "--quiet")
    assert result.exit_code == 0, result.stdout


def test_allow_inplace_does_not_excuse_a_wrong_dtype(tmp_path):
    (tmp_path / "both.py").write_text(
        "import numpy as np\n"
        "def softmax(x):\n"
        "    x -= x.max(axis=-1, keepdims=True)\n"
        "    e = np.exp(x.astype(np.float64))\n"
        "    return e / e.sum(axis=-1, keepdims=True)\n"
    )
    report = smgrad.check(tmp_path / "both.py", dtype="float32", scenarios="typical", batch=3, allow_inplace=True)
    assert {r.status for r in report if r.name == "softmax"} == {"failed"}
