"""What decides a run: every option of ``smgrad check``, validated.

A bad value raises :class:`smgrad.errors.UsageError` naming the problem and the fix, so
the library and the command line reject the same things in the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from smgrad.errors import UsageError

# The vocabulary of the options, kept here without numpy so that `smgrad --help` is quick.
DTYPES = ("float64", "float32")
METHODS = ("auto", "forward", "backward", "central", "richardson", "complex")
SCENARIOS = ("typical", "peaked", "overflow", "ties")
TARGETS = ("onehot", "soft", "index")
MODES = ("auto", "full", "fast")

# auto mode checks every entry up to this many derivative entries (B * n^2), and
# switches to sampled coordinates and random projections beyond it.
FAST_ABOVE = 4 * 10**6

# A full check differentiates B * n^2 entries; beyond this it takes minutes.
MAX_ENTRIES = 2 * 10**9

# Machine epsilon of each dtype, here so that validating a scale needs no numpy.
EPS = {"float64": 2.0**-52, "float32": 2.0**-23}


def max_scale(dtype: str) -> float:
    """The largest ``scale`` whose logits can be differentiated numerically at all: one
    rounding of a logit of that size, ``eps * scale``, is 1, the distance over which
    softmax changes. Beyond it no step resolves a derivative (every check would be
    without power, or compare rounding with rounding)."""
    return 1 / EPS[dtype]


@dataclass(frozen=True)
class Config:
    """Everything that decides a run. ``batch=None`` passes one 1-D vector."""

    dim: int = 10
    batch: int | None = 4
    seed: int = 0
    dtype: str = "float64"
    scale: float = 2.0
    scenarios: tuple[str, ...] = SCENARIOS
    method: str = "auto"
    step: float | None = None
    rtol: float | None = None
    atol: float | None = None
    targets: str = "onehot"
    label_smoothing: float = 0.0
    target_sum: float = 1.0
    reduction: str = "mean"
    max_memory: int = 2**30
    impl: str | None = None
    mode: str = "auto"
    timeout: float = 60.0

    def __post_init__(self):
        _require(isinstance(self.dim, int) and self.dim >= 1, f"dim must be a whole number >= 1, not {self.dim!r}")
        _require(
            self.batch is None or (isinstance(self.batch, int) and self.batch >= 1),
            f"batch must be a whole number >= 1 (or None for one 1-D vector), not {self.batch!r}",
        )
        _require(isinstance(self.seed, int) and self.seed >= 0, f"seed must be a whole number >= 0, not {self.seed!r}")
        _require(self.dtype in DTYPES, f"dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        _require(_positive(self.scale), f"scale must be a finite number > 0, not {self.scale!r}")
        _require(len(self.scenarios) > 0, "give at least one scenario")
        for s in self.scenarios:
            _require(s in SCENARIOS, f"unknown scenario {s!r}; choose from {', '.join(SCENARIOS)}")
        _require(self.method in METHODS, f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        _require(
            self.dtype not in EPS or not _positive(self.scale) or self.scale <= max_scale(self.dtype),
            f"scale {self.scale:g} spreads logits so far that one rounding of a logit in {self.dtype} "
            f"(eps·scale = {self.scale * EPS.get(self.dtype, 0):.2g}) exceeds 1, the distance over which softmax "
            f"changes: no numerical derivative can resolve it; use a scale of at most {max_scale(self.dtype):.2g} "
            f"in {self.dtype}",
        )
        _require(self.step is None or _positive(self.step), f"step must be a finite number > 0, not {self.step!r}")
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            _require(v is None or (_finite(v) and v >= 0), f"{name} must be a finite number >= 0, not {v!r}")
        _require(
            self.targets in TARGETS,
            f"targets must be one of {', '.join(TARGETS)}, not {self.targets!r}",
        )
        _require(
            _finite(self.label_smoothing) and 0 <= self.label_smoothing < 1,
            f"label smoothing must be a number in [0, 1), not {self.label_smoothing!r}",
        )
        _require(_positive(self.target_sum), f"target sum must be a finite number > 0, not {self.target_sum!r}")
        _require(
            self.targets != "index" or (self.label_smoothing == 0 and self.target_sum == 1),
            "class-id targets (--targets index) cannot carry label smoothing or a target sum; use onehot or soft",
        )
        _require(self.reduction in ("mean", "sum"), f"reduction must be mean or sum, not {self.reduction!r}")
        _require(
            isinstance(self.max_memory, int) and self.max_memory > 0, "max_memory must be a positive number of bytes"
        )
        _require(self.impl is None or isinstance(self.impl, str), "impl must be a SPEC string or None")
        _require(self.mode in MODES, f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        _require(
            _finite(self.timeout) and self.timeout >= 0, f"timeout must be seconds >= 0 (0: none), not {self.timeout!r}"
        )
        rows = self.batch or 1
        _require(
            self.resolved_mode == "fast" or rows * self.dim**2 <= MAX_ENTRIES,
            f"a full check at dim {self.dim} with batch {rows} differentiates {rows * self.dim**2:.1e} entries, "
            f"more than the {MAX_ENTRIES:.0e} that finish in minutes; use --mode fast, or a smaller --dim or --batch",
        )
        _require(
            8 * rows * self.dim * 8 <= self.max_memory,
            f"dim {self.dim} with batch {rows} needs about {64 * rows * self.dim / 2**30:.1f} GiB, over --max-memory "
            f"({self.max_memory / 2**30:.2g} GiB); raise --max-memory or use a smaller --dim or --batch",
        )

    @property
    def resolved_mode(self) -> str:
        """``full`` or ``fast``: what ``auto`` comes to for this size."""
        if self.mode != "auto":
            return self.mode
        return "fast" if (self.batch or 1) * self.dim**2 > FAST_ABOVE else "full"

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["scenarios"] = list(self.scenarios)
        return d


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise UsageError(message)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive(v) -> bool:
    return _finite(v) and v > 0
