"""Every verdict smgrad gives on the examples, as JSON lines, to compare two versions.

One line per check result: the run (example, dim, batch, seed, dtype, mode, targets),
the check, scenario and method, the status, the worst entry's index and the diagnosis.
Run it on two versions and diff the outputs; a line that differs is a verdict changed.

    python benchmarks/verdict_snapshot.py > after.jsonl
    PYTHONPATH=/path/to/old/checkout python benchmarks/verdict_snapshot.py > before.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import smgrad
from smgrad import analytic, functions

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# What an example needs to be called at all (the same as tests/conftest.py says).
NEEDS = {
    "integer_targets.py": {"targets": "index"},
    "single_sample.py": {"batch": None},
    "layer_class.py": {"object": "SoftmaxCrossEntropy"},
    "stale_cache.py": {"object": "CachingSoftmax"},
    "one_entry.py": {"object": "OneEntry"},
    "forward_first.py": {"object": "ForwardFirst"},
}


# Besides the examples: the reference, and the reference with a relative error injected
# into every derivative (what benchmarks/verdict_grid.py counts as caught), under options
# that change the numbers.
INJECTED = {"float64": 1e-8, "float32": 1e-3}
OPTIONS = ({}, {"targets": "soft"}, {"label_smoothing": 0.1}, {"target_sum": 0.7}, {"reduction": "sum"})


def injected(dtype: str) -> dict:
    rel = 1 + INJECTED[dtype]
    return {
        "softmax": functions.softmax,
        "softmax_jacobian": lambda x: analytic.softmax_jacobian(x) * rel,
        "softmax_backward": lambda x, g: analytic.softmax_vjp(x, g) * rel,
        "cross_entropy": lambda x, t: functions.cross_entropy(x, t, "mean" if x.ndim == 2 else "none"),
        "cross_entropy_grad": lambda x, t: analytic.cross_entropy_grad(x, t, "mean" if x.ndim == 2 else "none") * rel,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dims", default="2,10,60")
    args = parser.parse_args()
    dims = [int(d) for d in args.dims.split(",")]
    for name, make in (("reference", lambda dtype: None), ("injected", injected)):
        for extra in OPTIONS:
            if name == "injected" and extra.get("reduction") == "sum":
                continue  # the injected functions take the mean
            for dim in dims:
                for seed in range(args.seeds):
                    for dtype in ("float64", "float32"):
                        for mode in ("full", "fast"):
                            options = {"dim": dim, "seed": seed, "dtype": dtype, "mode": mode, "batch": 3, **extra}
                            for r in smgrad.check(make(dtype), **options):
                                print(json.dumps(_line(Path(name), options, r), sort_keys=True))
    # The numpy examples: torch's, JAX's and Triton's need their library and --array
    # (benchmarks/false_alarms.py --frameworks runs those).
    for path in sorted([*EXAMPLES.glob("correct/*.py"), *EXAMPLES.glob("buggy/*.py")]):
        needs = dict(NEEDS.get(path.name, {}))
        spec = str(path) + (f":{needs.pop('object')}" if "object" in needs else "")
        for dim in (int(d) for d in args.dims.split(",")):
            for seed in range(args.seeds):
                for dtype in ("float64", "float32"):
                    for mode in ("full", "fast"):
                        options = {"dim": dim, "seed": seed, "dtype": dtype, "mode": mode, "batch": 3, **needs}
                        report = smgrad.check(spec, **options)
                        for r in report:
                            print(json.dumps(_line(path, options, r), sort_keys=True))


def _line(path: Path, options: dict, r) -> dict:
    worst = r.worst[0].index if r.worst and r.status == "failed" else None
    return {
        "example": f"{path.parent.name}/{path.name}" if path.suffix else str(path),
        **options,
        "check": r.name,
        "scenario": r.scenario,
        "method": r.method,
        "status": r.status,
        "worst": list(worst) if worst is not None else None,
        "diagnosis": r.diagnosis,
    }


if __name__ == "__main__":
    main()
