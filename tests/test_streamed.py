"""LLM-scale batches (issue 14, part 4): over ``config.DRAWN_IN_BLOCKS`` entries a
problem is drawn a block of rows at a time and held in its dtype, its forward values are
called and compared a block at a time, and the derivatives, row independence and
statelessness are checked on the sampled rows. Here the thresholds are lowered so that a
batch of 40 rows of 300 classes takes that path in seconds; the full size (1024 x 262144
float32) is measured in ``benchmarks/llm_scale.py``."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import EXAMPLES

import smgrad
from smgrad import config, coverage, inblocks, problems
from smgrad.config import Config
from smgrad.errors import UsageError

DIM, BATCH, BLOCK_ROWS = 300, 40, 6


@pytest.fixture
def streamed(monkeypatch):
    monkeypatch.setattr(config, "DRAWN_IN_BLOCKS", 2**12)
    monkeypatch.setattr(inblocks, "BLOCK_ENTRIES", BLOCK_ROWS * DIM + 100)
    monkeypatch.setattr(inblocks, "PIECE_ENTRIES", 2 * DIM)  # judged two rows at a time


def load(path, name=None):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)() if name else module


def run(impl, **options):
    return smgrad.check(impl, dim=DIM, batch=BATCH, dtype="float32", mode="fast", **options)


def test_a_problem_drawn_in_blocks_is_held_in_its_dtype(streamed):
    p = problems.make_problem("peaked", DIM, BATCH, "float32", 0)
    assert isinstance(p.t, problems.OneHot)  # one-hot targets: made a block at a time
    t = p.t[:]
    assert p.x.dtype == t.dtype == np.float32 and p.x.shape == t.shape == (BATCH, DIM)
    assert np.all(t.sum(-1) == 1) and np.all(t.max(-1) == 1)  # one-hot
    assert np.array_equal(p.t[7:13], t[7:13]) and np.array_equal(inblocks.rows(p, [9, 2]).t, t[[9, 2]])
    labels = np.argmax(t, -1)
    assert np.all(p.x[::2][np.arange(0, BATCH, 2) // 2, labels[::2]] == p.x[::2].max(-1))  # confident rows
    assert isinstance(p.g, problems.RowDraws)
    g = p.g[:]
    assert g.shape == (BATCH, DIM) and g.dtype == np.float32
    assert np.array_equal(p.g[[7, 3]], g[[7, 3]])  # each row its own stream: the same whenever drawn
    ignoring = problems.make_problem("typical", DIM, BATCH, "float32", 0, ignore_index=3)
    zero = ignoring.t[:].sum(-1) == 0
    assert zero.any() and np.array_equal(zero, ignoring.ignored)  # the ignored rows' targets are 0
    soft = problems.make_problem("typical", DIM, BATCH, "float32", 0, targets="soft", label_smoothing=0.1)
    assert np.allclose(soft.t.sum(-1), 1, atol=1e-5) and np.all(soft.t >= 0.1 / DIM * (1 - 1e-6))


def test_the_next_problem_drawn_ahead_is_the_one_drawn_in_turn(streamed):
    draw = lambda scenario: problems.make_problem(scenario, DIM, BATCH, "float32", 0)  # noqa: E731
    scenarios = ["typical", "peaked", "ties"]
    for p, scenario in zip(inblocks.ahead(draw, scenarios), scenarios, strict=True):
        q = draw(scenario)
        assert p.scenario == scenario and np.array_equal(p.x, q.x) and np.array_equal(p.t[:], q.t[:])


def test_a_correct_implementation_passes_called_in_blocks(streamed):
    report = run(EXAMPLES / "correct" / "numpy_layer.py")
    assert report.passed, [(r.name, r.scenario, r.message) for r in report if r.status == "failed"]
    forward = [r for r in report if r.name in ("softmax", "cross_entropy") and r.covers is None]
    assert forward and all(f"called on {BLOCK_ROWS} rows at a time" in r.message for r in forward)


def test_a_wrong_row_is_named_by_its_row_in_the_whole_batch(streamed, tmp_path):
    """Wrong in the one row whose first logit is the batch's largest, which lies in a
    later block: its index must be counted from the block's start."""
    x = problems.make_problem("typical", DIM, BATCH, "float32", 0).x
    row = int(np.argmax(x[:, 0]))
    assert row >= BLOCK_ROWS  # not in the first block
    (tmp_path / "one_row.py").write_text(
        "import numpy as np\n"
        "def softmax(x):\n"
        "    e = np.exp(x - x.max(-1, keepdims=True))\n"
        "    y = e / e.sum(-1, keepdims=True)\n"
        f"    y[x[:, 0] >= {float(x[row, 0])!r}, {{where}}] *= 1.01\n"
        "    return y\n"
    )
    source = (tmp_path / "one_row.py").read_text()
    (tmp_path / "one_row.py").write_text(source.format(where=5))  # one value
    (forward,) = [r for r in run(tmp_path / "one_row.py", scenarios="typical") if r.name == "softmax"]
    assert forward.status == "failed"
    assert [e.index for e in forward.worst if e.deviation > e.allowed] == [(row, 5)], forward.worst
    (tmp_path / "one_row.py").write_text(source.format(where=":"))  # the whole row: its sum shows it
    (forward,) = [r for r in run(tmp_path / "one_row.py", scenarios="typical") if r.name == "softmax"]
    assert forward.status == "failed" and f"(row {row})" in forward.message, forward.message


def test_a_batch_taken_whole_is_judged_a_few_rows_at_a_time_and_names_the_wrong_value(monkeypatch, tmp_path):
    monkeypatch.setattr(inblocks, "PIECE_ENTRIES", 3 * DIM)  # pieces of 3 rows, the batch not in blocks
    p = problems.make_problem("typical", DIM, BATCH, "float64", 0)
    assert inblocks.whole(p) and len(list(inblocks.pieces(p))) == -(-BATCH // 3)
    row = int(np.argmax(p.x[:, 0]))
    (tmp_path / "one_value.py").write_text(
        "import numpy as np\n"
        "def softmax(x):\n"
        "    e = np.exp(x - x.max(-1, keepdims=True))\n"
        "    y = e / e.sum(-1, keepdims=True)\n"
        f"    y[x[:, 0] >= {float(p.x[row, 0])!r}, 7] *= 1 + 1e-9\n"
        "    return y\n"
    )
    report = smgrad.check(tmp_path / "one_value.py", dim=DIM, batch=BATCH, scenarios="typical")
    (forward,) = [r for r in report if r.name == "softmax" and r.covers is None]
    assert forward.status == "failed" and [e.index for e in forward.worst if e.deviation > e.allowed] == [(row, 7)], (
        forward.worst
    )


def test_the_extra_cases_take_the_sampled_rows(streamed):
    run_config = Config(dim=DIM, batch=BATCH, dtype="float64", mode="fast")
    assert run_config.streamed
    extra, notes = coverage.cases([run_config], set(), lambda: None, None)
    assert {case.covers for case in extra} >= {"float32", "soft", "smooth"}
    assert all(case.config.batch == (1 if case.covers == "B=1" else config.sampled_rows(DIM)) for case in extra), extra
    assert notes[0].startswith(f"also covered (typical scenario, {config.sampled_rows(DIM)} rows)"), notes


def test_a_wrong_target_entry_in_every_row_is_caught(streamed):
    report = run(load(EXAMPLES / "buggy" / "one_entry.py", "TargetEntry"))
    failed = {r.name for r in report if r.status == "failed"}
    assert "cross_entropy_grad" in failed, failed
    assert {"softmax", "cross_entropy"}.isdisjoint(failed), failed  # the forwards are right


def test_the_rows_sampled_shrink_with_the_vocabulary_to_two(streamed, monkeypatch):
    assert [config.sampled_rows(n) for n in (300, 131072, 262144, 10**6)] == [8, 8, 4, 2]
    monkeypatch.setattr(config, "SAMPLED_ENTRIES", 3 * DIM)  # as a vocabulary of 350,000 would
    report = run(load(EXAMPLES / "buggy" / "one_entry.py", "TargetEntry"), scenarios="typical")
    (grad,) = [r for r in report if r.name == "cross_entropy_grad" and r.method != "reference" and r.covers is None]
    assert grad.status == "failed" and f"of {BATCH}" in grad.message, grad.message
    rows = grad.message.split("rows ")[-1].split(" of")[0].split(", ")
    assert len(rows) == 3 and rows[0] == "0" and rows[-1] == str(BATCH - 1), grad.message  # first, last, one between


def test_a_diagonal_only_backward_is_caught(streamed):
    report = run(EXAMPLES / "buggy" / "diagonal_only.py")
    failed = {r.name for r in report if r.status == "failed"}
    assert "softmax_backward" in failed and "softmax" not in failed, failed


def test_an_llm_sized_batch_is_accepted_and_an_impossible_one_refused():
    Config(dim=262144, batch=1024, dtype="float32")  # 2 GiB held: within this machine
    with pytest.raises(UsageError, match="over half of this machine's memory"):
        Config(dim=2**20, batch=2**20, dtype="float32")  # 8 TB
