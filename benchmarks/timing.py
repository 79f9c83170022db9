"""The one timer the benchmarks share: the best of several repeats, so that start-up,
imports and a busy moment of the machine are left out."""

from __future__ import annotations

import time


def best_time(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)
