"""Freed memory kept for reuse, in the ``smgrad`` command's own process.

A check makes many temporaries of a few MB (a block of columns, its allowance, its
error), each freed before the next is made. glibc serves blocks over its mmap threshold
(128 KiB at start, raised as such blocks are freed, trimmed back when the heap's top is
free) with fresh pages, and every fresh page is a fault. Measured on this project's
machine (2-core AMD EPYC VM): a full float64 check of softmax at B x n = 1 x 1000 took
103 ms in a fresh process and 40 ms with the thresholds raised as here, the same code.
Only the command does this (it owns its process); :func:`smgrad.check` in a user's
process leaves the allocator alone.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
KEEP = 2**28  # blocks up to 256 MiB from the heap, and up to twice that kept when free


def keep_freed_pages() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is no
    glibc (macOS, musl, Windows), which is then left as it is."""
    try:  # the process's own symbols: find_library("c") runs ldconfig, 3 ms a check
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * KEEP))
