"""What a default run covers beyond its own batch, targets and dtype.

Bugs hide where one float64 batch of one-hot targets never goes: at B = 1 (a squeeze,
then a division by what is now n), at B = n (a missing ``keepdims`` broadcasts the wrong
way), in a 1-D vector (``dot(s, s.T)`` of a 1-D ``s`` is a number), with soft or smoothed
targets (a gradient built from ``argmax(t)``), with class ids of 256 and more (labels cast
to uint8), in float32 (a result that comes back float64). Each run is joined by those
cases, each in the typical scenario, unless the user chose that dimension (``batch``;
``targets``, ``label_smoothing`` or ``target_sum``; ``dtype``) or the scenarios to run:

* B = 1; B = n where n^3 stays in full mode; a 1-D vector where the implementation takes
  one as one sample (its softmax, loss and loss gradient give for a 1-D ``x`` what they
  give for a batch of that one row: one written for batches, dividing by ``x.shape[0]``,
  does not, and is not checked on vectors; its softmax's derivatives are not compared, a
  wrong 1-D path there being what the case is for);
* soft targets and label smoothing 0.1 where the targets are dense; dim 300 where they are
  class ids (row 0's id is then 256 or more, :data:`smgrad.problems.HIGH_ID`);
* float32, where the run is float64 (and no step or tolerance was given: those are
  chosen for a dtype).

A run drawn in blocks of rows (an LLM's batch and vocabulary) takes its extra cases on
:func:`smgrad.config.sampled_rows` rows: what they are for shows there, and each case at
1024 x 262144 took half a minute.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from smgrad import problems
from smgrad.backend import quietly, xp
from smgrad.config import FAST_ABOVE, Config, sampled_rows
from smgrad.impl import Implementation
from smgrad.precision import is_low

TARGET_OPTIONS = ("targets", "label_smoothing", "target_sum")
SMOOTHING = 0.1
PER_DTYPE = ("step", "atol", "rtol")
IDS_DIM = 300  # class ids from 256 up need more classes than a uint8 holds


@dataclass(frozen=True)
class Case:
    """One extra run and the short name its results carry (``B=1``, ``1-D``, ...)."""

    config: Config
    covers: str


def cases(configs: list[Config], given, vector: Callable[[], Implementation | None], batch: Implementation):
    """``(cases, notes)``: the extra runs of ``configs`` and the header's lines on what
    was covered. ``vector()`` gives the implementation as a 1-D one (asked only if a
    vector case could be run)."""
    if "scenarios" in given:  # the scenarios asked for, and nothing else
        return [], []
    shapes_too = "batch" not in given
    targets_too = not any(name in given for name in TARGET_OPTIONS)
    out, covered, missed = [], {}, {}
    batched = [c for c in configs if c.batch is not None] if shapes_too else []
    why_not = takes_vectors(vector(), batch, batched[0]) if batched else None  # None: takes vectors
    for c in configs:
        typical = dataclasses.replace(c, scenarios=("typical",))
        if fewer(c):  # what the extra cases are for shows in a few rows
            typical = dataclasses.replace(typical, batch=sampled_rows(c.dim))
        if c.targets == "index" and c.dim < IDS_DIM:
            out.append(Case(dataclasses.replace(typical, dim=IDS_DIM), "ids>=256"))
            covered[f"class ids from 256 (dim {IDS_DIM})"] = True
        # A step or tolerance given was chosen for the run's dtype, not for float32.
        if not any(name in given for name in ("dtype", *PER_DTYPE)) and c.dtype == "float64":
            out.append(Case(dataclasses.replace(typical, dtype="float32"), "float32"))
            covered["float32"] = True
        shapes = []
        if shapes_too and c.batch is not None:
            shapes += [(1, "B=1")] if c.batch != 1 else []
            shapes += [(c.dim, f"B={c.dim}")] if c.dim not in (1, c.batch) and c.dim**3 <= FAST_ABOVE else []
        for size, name in shapes:
            out.append(Case(dataclasses.replace(typical, batch=size), name))
            covered["B = 1" if size == 1 else "B = n"] = True
        if c in batched and why_not is None:
            out.append(Case(dataclasses.replace(typical, batch=None), "1-D"))
            covered["a 1-D vector"] = True
        elif c in batched:
            missed["a 1-D vector"] = why_not
        if targets_too and c.targets == "onehot":
            out.append(Case(dataclasses.replace(typical, targets="soft"), "soft"))
            out.append(Case(dataclasses.replace(typical, label_smoothing=SMOOTHING), "smooth"))
            covered["soft targets"] = covered[f"label smoothing {SMOOTHING}"] = True
    notes = []
    if covered:
        narrow = "--scenarios, --batch, --targets or --dtype narrows this"
        where = next((f", {sampled_rows(c.dim)} rows" for c in configs if fewer(c)), "")
        notes.append(f"also covered (typical scenario{where}): {', '.join(covered)}; {narrow}")
    notes += [f"not covered: {what}: {why}" for what, why in missed.items()]
    return out, notes


def fewer(c: Config) -> bool:
    """The run's extra cases take :func:`smgrad.config.sampled_rows` rows, not its batch."""
    return c.streamed and c.batch is not None and c.batch > sampled_rows(c.dim)


def takes_vectors(vector: Implementation | None, batch: Implementation, c: Config) -> str | None:
    """None if the implementation takes a 1-D ``x`` as one sample: its softmax, loss and
    loss gradient give for it what they give for a batch of that one row (to 1e-4; a
    reduction over ``x.shape[0]`` differs by n); else why not. The softmax's derivatives
    are not asked: a wrong 1-D path there is what the case is for."""
    if vector is None or vector is batch:
        return None if vector is not None else "the implementation cannot be called on one"
    p = problems.make_problem("typical", c.dim, 1, c.dtype, c.seed, c.scale, c.targets)
    pairs = [
        ("softmax", lambda f: f(p.x)),
        ("cross_entropy", lambda f: f(p.x, p.t)),
        ("cross_entropy_grad", lambda f: f(p.x, p.t)),
    ]
    for name, call in pairs:
        one, rows = getattr(vector, name), getattr(batch, name)
        if one is None or rows is None:
            continue
        try:
            with quietly(), batch.storing(c.dtype if is_low(c.dtype) else None):
                a, b = xp.asarray(call(one), dtype=float), xp.asarray(call(rows), dtype=float)
                same = a.size == b.size and bool(xp.allclose(a.reshape(b.shape), b, rtol=1e-4, atol=0))
        except Exception as e:
            cause = e.__cause__ or e
            return f"its {name} of a 1-D x raised {type(cause).__name__} (written for batches; --batch none checks it)"
        if not same:
            return (
                f"its {name} of a 1-D x is not that of a batch of one row (written for batches, "
                "e.g. dividing by x.shape[0]; --batch none checks it as one sample)"
            )
    return None
