"""Results of a run: one :class:`CheckResult` per check and scenario, gathered in a
:class:`Report` that knows its verdict and serialises to strict JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from smgrad.compare import Entry
from smgrad.config import Config

STATUSES = ("passed", "failed", "skipped", "error", "inconclusive")
FAILING = ("failed", "error", "inconclusive")  # statuses that keep a run from passing
WEAK = 0.1  # a pass whose power (resolves) is worse than this is reported as weak
SCHEMA_VERSION = 5  # of smgrad/schema.json; a change to the JSON's shape is a new version


def schema() -> dict:
    """The JSON Schema every ``--format json`` report validates against."""
    from importlib.resources import files

    return json.loads(files("smgrad").joinpath("schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class CheckResult:
    """One check in one scenario, made whole once (a new result replaces it, never a
    change to it)."""

    name: str
    scenario: str
    status: str
    method: str | None = None
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    atol: float | None = None
    rtol: float | None = None
    step: float | None = None
    resolves: float | None = None
    precision: str | None = None  # the dtype the numerical derivative was taken in
    worst: list[Entry] = field(default_factory=list)
    message: str = ""
    diagnosis: str | None = None
    dim: int | None = None
    seed: int | None = None
    dtype: str | None = None
    covers: str | None = None  # a default run's extra case (B=1, 1-D, soft, ...): typical scenario
    nonfinite: bool = False  # the implementation's values held inf or nan (not in the JSON)

    @property
    def case(self) -> str:
        """The scenario as shown: a default run's extra case (``B=1``, ``1-D``, ``soft``)
        in place of its ``typical``."""
        return self.covers or self.scenario

    @property
    def weak(self) -> bool:
        """Passed, but an error of :data:`WEAK` in every entry could have passed too."""
        return self.status == "passed" and self.resolves is not None and self.resolves > WEAK

    @property
    def deviation(self) -> float | None:
        """|analytic - numerical| at the worst entry (the one furthest beyond its allowance)."""
        return self.worst[0].deviation if self.worst else self.max_abs_error

    @property
    def allowed(self) -> float | None:
        return self.worst[0].allowed if self.worst else None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "scenario": self.scenario,
            "status": self.status,
            "method": self.method,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "atol": self.atol,
            "rtol": self.rtol,
            "step": self.step,
            "resolves": self.resolves,
            "weak": self.weak,
            "precision": self.precision,
            "worst": self.worst[0].to_dict() if self.worst else None,
            "entries": [e.to_dict() for e in self.worst],
            "message": self.message,
            "diagnosis": self.diagnosis,
            "dim": self.dim,
            "seed": self.seed,
            "dtype": self.dtype,
            "covers": self.covers,
        }


@dataclass
class Report:
    """The results of a run, in table order. Iterating gives the check results."""

    config: Config
    results: list[CheckResult]
    implementation: str = "reference"
    runs: list[Config] = field(default_factory=list)
    config_file: str | None = None  # the pyproject.toml whose [tool.smgrad] was applied
    hints: tuple[str, ...] = ()  # what the results as a whole suggest to try
    covered: tuple[str, ...] = ()  # what a default run covered beyond its batch and targets, or not
    arrays: str = "numpy"  # what the implementation was called with: "torch 2.13.0 tensors on cpu"
    precision: tuple = ()  # per dtype run, what it computes at and is differentiated in (checks.effective)

    def __post_init__(self):
        self.runs = self.runs or [self.config]

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)

    def echoes(self) -> set[int]:
        """Positions of results that compare a user's derivative with the seed's formula
        and fail beside a failed numerical comparison of the same check in the same
        scenario and run: they say nothing new, and a report may say them in a line."""
        failed = {
            (r.name, r.case, r.dim, r.seed, r.dtype) for r in self if r.status == "failed" and r.method != "reference"
        }
        return {
            i
            for i, r in enumerate(self)
            if r.method == "reference" and r.status in FAILING and (r.name, r.case, r.dim, r.seed, r.dtype) in failed
        }

    @property
    def passed(self) -> bool:
        """True when nothing failed, errored or was inconclusive: a check without the
        power to fail never counts towards a pass."""
        return not any(r.status in FAILING for r in self.results)

    @property
    def summary(self) -> dict:
        counts = {s: 0 for s in STATUSES}
        for r in self.results:
            counts[r.status] += 1
        counts["total"] = len(self.results)
        counts["runs"] = len(self.runs)
        modes = {c.resolved_mode for c in self.runs}
        counts["mode"] = modes.pop() if len(modes) == 1 else "mixed"
        return counts

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "passed": self.passed,
            "summary": self.summary,
            "config": self._config(),
            "checks": [r.to_dict() for r in self.results],
        }

    def _config(self) -> dict:
        """The options of the run; ``dim``, ``seed`` and ``dtype`` list every value run."""
        d = self.config.to_dict()
        for key in ("dim", "seed", "dtype"):
            d[key] = list(dict.fromkeys(getattr(c, key) for c in self.runs))
        d["config_file"] = self.config_file
        d["arrays"] = self.arrays
        d["precision"] = [found.to_dict() for found in self.precision]
        return d

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON: non-finite numbers become null."""
        return json.dumps(_strict(self.to_dict()), indent=indent, allow_nan=False)


def _strict(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value
