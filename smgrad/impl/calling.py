"""Anything that names or holds the protocol functions (a SPEC, a module, a class, an
instance, ``torch`` or ``jax``) made an :class:`Implementation`, called as a run says
(:class:`Calling`): one 1-D sample at a time or a batch, with which targets, reduction,
arrays and device."""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, fields, replace

from smgrad.errors import UsageError, opt
from smgrad.impl import builtin
from smgrad.impl.adapt import adapt
from smgrad.impl.arrays import arrays_for
from smgrad.impl.load import functions_of, instance, load, spec_of
from smgrad.impl.protocol import NAMES, Implementation, reference


@dataclass(frozen=True)
class Calling:
    """How a run calls an implementation's functions: on one 1-D sample at a time
    (``vector``) or a batch, with what targets and reduction, within what time, with what
    arrays on what device; for class ids, the ignore index and label smoothing."""

    vector: bool = False
    targets: str = "onehot"
    reduction: str = "mean"
    timeout: float = 0.0
    array: str = "auto"
    device: str = "cpu"
    ignore_index: int | None = None
    target_sum: float = 1.0
    label_smoothing: float = 0.0

    @classmethod
    def of(cls, config) -> Calling:
        """What a run's :class:`smgrad.config.Config` says."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls) if f.name != "vector"}).other(
            config.batch is None
        )

    def other(self, vector: bool) -> Calling:
        return replace(self, vector=vector)


def both_shapes(impl, calling: Calling):
    """``(implementation, other)``: :func:`as_implementation` of ``impl``, and a callable
    giving it adapted to the other shape (1-D if ``calling.vector`` is False), sharing its
    watchers, or None where it cannot be (an :class:`Implementation` given is both)."""
    first = as_implementation(impl, calling)
    if impl is None or isinstance(impl, Implementation):
        return first, lambda: first
    found = {name: w.f for name, w in first.recorder.watches.items() if name not in first.derived}
    arrays = next(iter(first.recorder.watches.values())).arrays
    return first, lambda: adapt(found, first.name, calling.other(not calling.vector), first, arrays)


def as_implementation(impl, calling: Calling = Calling()) -> Implementation:
    """Anything that names or holds the protocol functions, as an :class:`Implementation`:
    a SPEC string or path, a module, a class, an instance, a namespace, a mapping, or an
    :class:`Implementation` already; ``torch`` or ``jax``: that library's own softmax and
    cross-entropy (with the ignore index, and label smoothing for class ids). None is the
    reference. Its functions are called as ``calling`` says, with arrays of
    ``calling.array`` (``auto``: the library the implementation imported)."""
    array, device, c = calling.array, calling.device, calling
    if impl is None:
        if array not in ("auto", "numpy") or device != "cpu":
            given = f"{opt('array')} {array}" if array not in ("auto", "numpy") else f"{opt('device')} {device}"
            raise UsageError(f"{given}: the reference is numpy, on the CPU; give {opt('impl')} torch, jax or yours")
        return reference(c.reduction, c.ignore_index is not None)
    if isinstance(impl, Implementation):
        return impl
    if isinstance(impl, os.PathLike):
        impl = os.fspath(impl)
    if isinstance(impl, str) and impl in builtin.LIBRARIES:
        arrays = arrays_for(impl if array == "auto" else array, device)
        smoothing = c.label_smoothing if c.targets == "index" else 0.0
        return adapt(builtin.functions(impl, c.reduction, c.ignore_index, smoothing), impl, c, arrays=arrays)
    if isinstance(impl, str):
        found, name = load(impl, c.timeout), impl
    else:
        name = spec_of(impl)
        if inspect.isclass(impl):
            impl = instance(name, impl, c.timeout)
        found = functions_of(impl)
        if not found:
            raise UsageError(f"{name} defines none of {', '.join(NAMES)}")
    arrays = arrays_for(array, device, found.values())
    return adapt(found, name, c, arrays=arrays)
