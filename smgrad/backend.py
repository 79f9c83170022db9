"""The one place that knows smgrad's arrays are numpy.

Every numerical module takes ``xp`` from here instead of importing numpy itself, so a
later array backend (CuPy, torch, JAX) means changing this seam, not every module.
"""

from __future__ import annotations

import numpy as xp
from numpy.exceptions import ComplexWarning

__all__ = ["ComplexWarning", "eps", "is_complex", "xp"]


def eps(dtype) -> float:
    """Machine epsilon of a real or complex dtype (that of its real part)."""
    return float(xp.finfo(dtype).eps)


def is_complex(a) -> bool:
    return xp.iscomplexobj(a)
