"""What checking your own implementation adds to a run, at dim 10.

Times, in one process (best of several repeats, so start-up and imports are excluded):
loading the --impl file, a run on the built-in reference, and a run on the example
implementation (which also compares each derivative with the seed's formulas).

    python benchmarks/impl_overhead.py [--dim 10] [--repeat 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from timing import best_time as best  # beside this file

import smgrad
from smgrad.impl import load

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "correct" / "numpy_layer.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    t0 = time.perf_counter()
    load(EXAMPLE)
    first_load = time.perf_counter() - t0
    reference = best(lambda: smgrad.check(dim=args.dim), args.repeat)
    user = best(lambda: smgrad.check(EXAMPLE, dim=args.dim), args.repeat)
    print(f"dim {args.dim}, batch 4, 4 scenarios, best of {args.repeat}")
    print(f"  loading {Path(EXAMPLE).name} (first time)     {first_load * 1e3:8.1f} ms")
    print(f"  check on the reference               {reference * 1e3:8.1f} ms")
    print(f"  check on {Path(EXAMPLE).name} (--impl)   {user * 1e3:8.1f} ms")
    print(f"  added by loading and checking --impl {(user - reference) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
