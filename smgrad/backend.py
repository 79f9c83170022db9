"""The one place that knows smgrad's arrays are numpy.

Every numerical module takes ``xp`` from here instead of importing numpy itself, so a
later array backend (CuPy, torch, JAX) means changing this seam, not every module.
"""

from __future__ import annotations

import numpy as xp
from numpy.exceptions import ComplexWarning

__all__ = ["ComplexWarning", "complex_dtype", "eps", "is_complex", "real_dtype", "xp"]


def eps(dtype) -> float:
    """Machine epsilon of a real or complex dtype (that of its real part)."""
    return float(xp.finfo(dtype).eps)


def complex_dtype(dtype):
    """The complex dtype with the same precision: float32 -> complex64."""
    return xp.result_type(dtype, xp.complex64)


def real_dtype(dtype):
    """The real dtype with the same precision: complex64 -> float32."""
    return xp.finfo(dtype).dtype


def is_complex(a) -> bool:
    return xp.iscomplexobj(a)
