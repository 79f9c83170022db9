"""The dtypes a run can be in, and what smgrad holds their values in.

float64 and float32 are numpy's own. bfloat16 and float16 are *low precisions*: their
values are held in float32 numpy arrays (every bfloat16 and float16 number is a float32
one), and an implementation receives them in its library's low dtype
(:mod:`smgrad.impl.arrays`). A low-precision result is judged as a kernel computes it:
in float32, with sums taken in blocks or a tree, and stored once in the low dtype
(:mod:`smgrad.bounds`, :mod:`smgrad.allowances`).
"""

from __future__ import annotations

import numpy as np

LOW = ("bfloat16", "float16")
ACCUMULATE = "float32"  # what a low-precision kernel is expected to compute and sum in

# eps, smallest normal, largest finite: those of numpy where it has the dtype.
_BFLOAT16 = (2.0**-7, 2.0**-126, float.fromhex("0x1.fep127"))


def name_of(dtype) -> str:
    """The dtype's name: ``"bfloat16"``, ``"float32"``, ``"complex128"``."""
    return dtype if isinstance(dtype, str) else np.dtype(dtype).name


def is_low(dtype) -> bool:
    return isinstance(dtype, str) and dtype in LOW


def numbers(dtype) -> tuple[float, float, float]:
    """``(eps, tiny, max)`` of a real or complex dtype (of its real part)."""
    if name_of(dtype) == "bfloat16":
        return _BFLOAT16
    info = np.finfo(dtype)
    return float(info.eps), float(info.tiny), float(info.max)


def storage(dtype) -> np.dtype:
    """The numpy dtype a run's values are held in."""
    return np.dtype(np.float32) if is_low(dtype) else np.dtype(dtype)


def accumulating(dtype):
    """The dtype a correct implementation in ``dtype`` computes and sums in."""
    return ACCUMULATE if is_low(dtype) else dtype


def round_to(a, dtype) -> np.ndarray:
    """``a`` rounded to ``dtype`` (to nearest, ties to even), held in :func:`storage`."""
    name = name_of(dtype)
    if name == "float16":
        return np.asarray(a).astype(np.float16).astype(np.float32)
    if name != "bfloat16":
        return np.asarray(a).astype(dtype)
    bits = np.asarray(a, dtype=np.float32).view(np.uint32)
    finite = np.isfinite(bits.view(np.float32))
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return np.where(finite, rounded, bits & np.uint32(0xFFFF0000) | (bits & np.uint32(0xFFFF) != 0)).view(np.float32)
