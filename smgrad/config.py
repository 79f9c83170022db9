"""What decides a run: :class:`Config`, one field per option of the table in
:mod:`smgrad.options` that decides what is checked (a grid option holds one of its
values), with the table's defaults, and validated by the table's kinds of value.

A bad value raises :class:`smgrad.errors.UsageError` naming the problem and the fix, so
the library and the command line reject the same things in the same words.
"""

from __future__ import annotations

import dataclasses
import os

import click

from smgrad.errors import UsageError, opt
from smgrad.options import BY_NAME, DTYPES, METHODS, MODES, SCENARIOS, TABLE, TARGETS

__all__ = ["DTYPES", "METHODS", "MODES", "SCENARIOS", "TARGETS", "Config", "max_scale"]

# auto mode checks every entry up to this many derivative entries (B * n^2), and
# switches to sampled coordinates and random projections beyond it.
FAST_ABOVE = 4 * 10**6

# A full check differentiates B * n^2 entries; beyond this it takes minutes.
MAX_ENTRIES = 2 * 10**9

# B n above which a fast check's problem is drawn, called and compared in blocks of rows
# (smgrad.inblocks); here so that validating a size needs no numpy.
DRAWN_IN_BLOCKS = 2**26
SAMPLED_ROWS = 8  # rows a fast check takes its derivatives on, at most (smgrad.checks.probes)
SAMPLED_ENTRIES = 2**20  # ... fewer where that many rows hold more entries, two at least


def sampled_rows(dim: int) -> int:
    """Rows a fast check takes its derivatives on (of a batch with more): every
    evaluation of the implementation there is on all of them, in complex numbers, so at
    an LLM's vocabulary 8 rows were more than half of a check's time (at 262,144 classes:
    4 rows)."""
    return max(2, min(SAMPLED_ROWS, SAMPLED_ENTRIES // max(1, dim)))


ITEMSIZE = {"float64": 8, "float32": 4, "bfloat16": 4, "float16": 4}  # as held: low precisions in float32


def physical_memory() -> int:
    """This machine's memory in bytes (a terabyte where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 2**40


# Machine epsilon of each dtype, here so that validating a scale needs no numpy.
EPS = {"float64": 2.0**-52, "float32": 2.0**-23, "bfloat16": 2.0**-7, "float16": 2.0**-10}


def max_scale(dtype: str) -> float:
    """The largest ``scale`` whose logits can be differentiated numerically at all: one
    rounding of a logit of that size, ``eps * scale``, is 1, the distance over which
    softmax changes. Beyond it no step resolves a derivative (every check would be
    without power, or compare rounding with rounding)."""
    return 1 / EPS[dtype]


class _Run:
    """The methods of :class:`Config` (its fields come from the option table)."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            option = BY_NAME[f.name]
            value = getattr(self, f.name)
            try:
                parsed = option.parse([value] if option.grid else value)
            except click.BadParameter as e:
                raise UsageError(f"{opt(f.name)}: {e.message}") from None
            # Normalised once, at construction: a grid option's one value, a tuple of scenarios.
            object.__setattr__(self, f.name, parsed[0] if option.grid else parsed)
        self._consistent()

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
            self.targets != "index" or (self.label_smoothing < 1 and self.target_sum == 1),
            f"class-id targets ({opt('targets', 'index')}) cannot carry {opt('target_sum')} or a "
            f"{opt('label_smoothing')} of 1 (no class left to name); use onehot or soft targets",
        )
        _require(
            self.ignore_index is None or self.targets == "index",
            f"{opt('ignore_index')} marks rows by their class id: give {opt('targets', 'index')}",
        )
        rows = self.batch or 1
        smaller = f"a smaller {opt('dim')} or {opt('batch')}"
        _require(
            self.resolved_mode == "fast" or rows * self.dim**2 <= MAX_ENTRIES,
            f"a full check at dim {self.dim} with batch {rows} differentiates {rows * self.dim**2:.1e} entries, "
            f"more than the {MAX_ENTRIES:.0e} that finish in minutes; use {opt('mode', 'fast')}, or {smaller}",
        )
        streamed = self.streamed
        # Streamed, the derivatives are taken on sampled rows: what is worked on at once, in
        # complex numbers and their temporaries, scales with those.
        worked = 64 * self.dim * (min(rows, sampled_rows(self.dim)) if streamed else rows)
        _require(
            worked <= self.max_memory,
            f"{opt('dim')} {self.dim} with {opt('batch')} {rows} needs about {worked / 2**30:.1f} GiB, "
            f"over {opt('max_memory')} ({self.max_memory / 2**30:.2g} GiB); raise {opt('max_memory')} or use {smaller}",
        )
        if streamed:
            # Drawn, called and compared a block of rows at a time: what is held whole is
            # the logits and the targets, in the run's dtype.
            held = 2 * rows * self.dim * ITEMSIZE[self.dtype]
            _require(
                held <= physical_memory() // 2,
                f"{opt('dim')} {self.dim} with {opt('batch')} {rows} holds {held / 2**30:.1f} GiB of logits and "
                f"targets, over half of this machine's memory ({physical_memory() / 2**30:.1f} GiB); use {smaller}",
            )

    @property
    def streamed(self) -> bool:
        """Drawn, called and compared a block of rows at a time (fast mode, over
        :data:`DRAWN_IN_BLOCKS` entries)."""
        return self.resolved_mode == "fast" and (self.batch or 1) * self.dim > DRAWN_IN_BLOCKS

    @property
    def resolved_mode(self) -> str:
        """``full`` or ``fast``: what ``auto`` comes to for this size."""
        if self.mode != "auto":
            return self.mode
        return "fast" if (self.batch or 1) * self.dim**2 > FAST_ABOVE else "full"

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["scenarios"] = list(self.scenarios)
        return d


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise UsageError(message)


def _field(option) -> tuple:
    """``(name, type, field)`` of an option's one value in a run, typed as the table parses it."""
    default = option.parse(option.default)
    kind = option.type.item_type if option.grid else option.type.value_type
    if default is None:
        kind = kind | None
    return option.name, kind, dataclasses.field(default=default[0] if option.grid else default)


Config = dataclasses.make_dataclass(
    "Config",
    [_field(o) for o in TABLE if not o.output],
    bases=(_Run,),
    frozen=True,
    namespace={
        "__module__": __name__,
        "__doc__": "Everything that decides a run, one field per option (``batch=None`` passes one 1-D vector).",
    },
)
