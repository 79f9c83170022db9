"""Time and peak memory of ``smgrad check`` on the reference, by dimension.

Each measurement runs in a fresh process, so peak RSS is that run's alone. Prints the
compute time of ``smgrad.checks.run`` (the checks, without start-up or rendering), the
end-to-end time of the ``smgrad check`` command, peak RSS, and the peak of numpy's
allocations (tracemalloc) - the memory smgrad itself asks for.

    python benchmarks/check_speed.py [--dims 10,100,1000,3000] [--batch 4] [--dtype float64]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

PROBE = r"""
import json, resource, sys, time, tracemalloc
from smgrad.checks import Config, run
config = Config(dim={dim}, batch={batch}, dtype="{dtype}", mode="{mode}")
t0 = time.perf_counter()
report = run(config)
seconds = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()  # a second run, traced: tracing slows numpy down, so it is not timed
run(config)
_, traced = tracemalloc.get_traced_memory()
print(json.dumps({{"seconds": seconds, "traced": traced, "rss": rss, "passed": report.passed,
                  "mode": config.resolved_mode,
                  "checks": len(report.results)}}))
"""


def measure(dim: int, batch: int, dtype: str, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(dim=dim, batch=batch, dtype=dtype, mode=mode)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    t0 = time.perf_counter()
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "smgrad",
            "check",
            "--dim",
            str(dim),
            "--batch",
            str(batch),
            "--dtype",
            dtype,
            "--mode",
            mode,
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    result["command"] = time.perf_counter() - t0
    result["exit"] = cli.returncode
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="10,100,1000,3000")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--mode", default="auto", choices=["auto", "full", "fast"])
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"batch {args.batch}, {args.dtype}, all 4 scenarios, method auto"
    )
    header = ("dim", "mode", "checks (s)", "command (s)", "peak RSS (MB)", "numpy peak (MB)", "exit")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (6, 5, 11, 12, 14, 16, 5), strict=True)))
    for dim in (int(d) for d in args.dims.split(",")):
        r = measure(dim, args.batch, args.dtype, args.mode)
        print(
            f"{dim:>6} {r['mode']:>5} {r['seconds']:>11.3f} {r['command']:>12.3f} {r['rss'] / 2**20:>14.1f} "
            f"{r['traced'] / 2**20:>16.1f} {r['exit']:>5}"
        )


if __name__ == "__main__":
    main()
