"""What decides a run: every option of ``smgrad check``, validated.

A bad value raises :class:`smgrad.errors.UsageError` naming the problem and the fix, so
the library and the command line reject the same things in the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from smgrad.errors import UsageError, opt

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
        for name, ok, expected in self._expectations():
            _require(ok, f"{opt(name)} must be {expected}, not {getattr(self, name)!r}")
        _require(len(self.scenarios) > 0, f"give at least one of {opt('scenarios')}")
        for s in self.scenarios:
            _require(s in SCENARIOS, f"{opt('scenarios')}: unknown scenario {s!r}; choose from {', '.join(SCENARIOS)}")
        self._consistent()

    def _expectations(self) -> list[tuple[str, bool, str]]:
        """``(option, holds, what it must be)`` for each value on its own."""
        return [
            ("dim", isinstance(self.dim, int) and self.dim >= 1, "a whole number >= 1"),
            ("batch", self.batch is None or (isinstance(self.batch, int) and self.batch >= 1), "a whole number >= 1"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "a whole number >= 0"),
            ("dtype", self.dtype in DTYPES, f"one of {', '.join(DTYPES)}"),
            ("scale", _positive(self.scale), "a finite number > 0"),
            ("method", self.method in METHODS, f"one of {', '.join(METHODS)}"),
            ("step", self.step is None or _positive(self.step), "a finite number > 0"),
            ("rtol", self.rtol is None or (_finite(self.rtol) and self.rtol >= 0), "a finite number >= 0"),
            ("atol", self.atol is None or (_finite(self.atol) and self.atol >= 0), "a finite number >= 0"),
            ("targets", self.targets in TARGETS, f"one of {', '.join(TARGETS)}"),
            ("label_smoothing", _finite(self.label_smoothing) and 0 <= self.label_smoothing < 1, "a number in [0, 1)"),
            ("target_sum", _positive(self.target_sum), "a finite number > 0"),
            ("reduction", self.reduction in ("mean", "sum"), "mean or sum"),
            ("max_memory", isinstance(self.max_memory, int) and self.max_memory > 0, "a positive number of bytes"),
            ("impl", self.impl is None or isinstance(self.impl, str), "a SPEC string or None"),
            ("mode", self.mode in MODES, f"one of {', '.join(MODES)}"),
            ("timeout", _finite(self.timeout) and self.timeout >= 0, "seconds >= 0 (0: no limit)"),
        ]

    def _consistent(self) -> None:
        """The values together: what the targets can carry, and what a run can afford."""
        scale, limit = self.scale, max_scale(self.dtype)
        _require(
            scale <= limit,
            f"{opt('scale')} {scale:g} spreads logits so far that one rounding of a logit in {self.dtype} "
            f"(eps·scale = {scale * EPS[self.dtype]:.2g}) exceeds 1, the distance over which softmax changes: "
            f"no numerical derivative can resolve it; use a {opt('scale')} of at most {limit:.2g} in {self.dtype}",
        )
        _require(
            self.targets != "index" or (self.label_smoothing == 0 and self.target_sum == 1),
            f"class-id targets ({opt('targets', 'index')}) cannot carry {opt('label_smoothing')} or "
            f"{opt('target_sum')}; use onehot or soft targets",
        )
        rows = self.batch or 1
        smaller = f"a smaller {opt('dim')} or {opt('batch')}"
        _require(
            self.resolved_mode == "fast" or rows * self.dim**2 <= MAX_ENTRIES,
            f"a full check at dim {self.dim} with batch {rows} differentiates {rows * self.dim**2:.1e} entries, "
            f"more than the {MAX_ENTRIES:.0e} that finish in minutes; use {opt('mode', 'fast')}, or {smaller}",
        )
        _require(
            8 * rows * self.dim * 8 <= self.max_memory,
            f"{opt('dim')} {self.dim} with {opt('batch')} {rows} needs about {64 * rows * self.dim / 2**30:.1f} GiB, "
            f"over {opt('max_memory')} ({self.max_memory / 2**30:.2g} GiB); raise {opt('max_memory')} or use {smaller}",
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
