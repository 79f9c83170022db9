"""The one place that knows smgrad computes with numpy.

smgrad's own arithmetic — references, numerical derivatives, comparisons — is numpy,
through ``xp``. What else an array library brings in is here, behind names that say what
the checks need of it: a seeded random generator, silence over floating-point warnings,
the numbers of a dtype, the complex test, and the conversion of an array an
implementation returns into smgrad's own. An implementation written for another array
library (torch, JAX) is met at that conversion, in :mod:`smgrad.impl`, not in every
module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as xp
from numpy.exceptions import ComplexWarning

from smgrad.precision import numbers

__all__ = ["ComplexWarning", "as_array", "eps", "generator", "is_complex", "largest", "quietly", "tiny", "xp"]


def generator(*seed: int):
    """A random generator for a seed of several parts (a seed, then which stream)."""
    return xp.random.default_rng(list(seed))


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Overflow, 0/0 and the like give inf and nan, as the checks expect, without a warning."""
    with xp.errstate(all="ignore"):
        yield


def eps(dtype) -> float:
    """Machine epsilon of a real or complex dtype (that of its real part), bfloat16 too."""
    return numbers(dtype)[0]


def tiny(dtype) -> float:
    """The smallest normal number of a dtype."""
    return numbers(dtype)[1]


def largest(dtype) -> float:
    """The largest finite number of a dtype."""
    return numbers(dtype)[2]


def is_complex(a) -> bool:
    return xp.iscomplexobj(a)


def as_array(value, dtype=None):
    """``value`` as smgrad's array (what an implementation returned, say)."""
    return xp.asarray(value, dtype=dtype)
