"""How right are smgrad's verdicts, both ways, over a grid of problems?

For each method and dtype: the largest ratio error / allowed seen on the built-in
reference (below 1 means no false alarm; the smaller, the more margin), and the share of
runs in which a relative error injected into the analytic derivatives (1e-8 in float64,
1e-3 in float32) is caught.

    python benchmarks/verdict_grid.py [--seeds 50] [--dims 1,2,3,10,100] [--batches 1,...,8]
    python benchmarks/verdict_grid.py --impl examples/correct/loops.py --impl path@targets=index,batch=none
    python benchmarks/verdict_grid.py --options label_smoothing=0.1,scale=20 --dims 10,300
"""

from __future__ import annotations

import argparse
import time

import smgrad
from smgrad.checks import Config, run
from smgrad.testing import with_relative_error

INJECTED = {"float64": 1e-8, "float32": 1e-3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--dims", default="1,2,3,10,100")
    parser.add_argument("--batches", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--methods", default="auto,complex,richardson,central,forward,backward")
    parser.add_argument("--no-inject", action="store_true", help="only the false-alarm half")
    parser.add_argument(
        "--options",
        default="",
        help="more options of every run, e.g. targets=soft,label_smoothing=0.1,scale=20",
    )
    parser.add_argument(
        "--impl",
        action="append",
        default=[],
        help="check this correct implementation instead (repeatable; no injection)",
    )
    args = parser.parse_args()
    dims = [int(d) for d in args.dims.split(",")]
    batches = [None if b == "none" else int(b) for b in args.batches.split(",")]
    options = {k: _value(v) for k, v in (item.split("=") for item in args.options.split(",") if item)}
    if args.impl:
        return correct_grid(args, dims, batches)
    print(f"{'method':<11} {'dtype':<8} {'runs':>6} {'worst err/allowed':>18} {'bug caught':>11} {'seconds':>8}")
    for method in args.methods.split(","):
        for dtype in ("float64", "float32"):
            t0 = time.perf_counter()
            worst, runs, caught = 0.0, 0, 0
            for seed in range(args.seeds):
                for dim in dims:
                    for batch in batches:
                        config = Config(dim=dim, batch=batch, seed=seed, dtype=dtype, method=method, **options)
                        report = run(config)
                        runs += 1
                        if not report.passed:
                            bad = [f"{r.name}/{r.scenario}" for r in report if r.status != "passed"]
                            print(f"  FALSE ALARM seed={seed} dim={dim} batch={batch}: {bad}")
                        for r in report:
                            if r.worst and r.allowed:
                                worst = max(worst, r.deviation / r.allowed)
                        if dim > 1 and not args.no_inject:  # at dim 1 every derivative is 0
                            caught += not run(config, with_relative_error(INJECTED[dtype], config.reduction)).passed
            bug_runs = 0 if args.no_inject else runs - args.seeds * len(batches) * (1 in dims)
            share = f"{caught}/{bug_runs}"
            print(f"{method:<11} {dtype:<8} {runs:>6} {worst:>18.3g} {share:>11} {time.perf_counter() - t0:>8.1f}")


def _value(text: str):
    """An option's value from the command line: a number where it is one."""
    try:
        return float(text)
    except ValueError:
        return text


def correct_grid(args, dims, batches) -> None:
    """Correct implementations: count the runs and any false alarm."""
    print(f"{'implementation':<44} {'dtype':<8} {'runs':>6} {'false alarms':>13} {'seconds':>8}")
    for spec in args.impl:
        path, _, extra = spec.partition("@")  # path@targets=index,batch=none
        options = dict(item.split("=") for item in extra.split(",") if item)
        for dtype in ("float64", "float32"):
            t0 = time.perf_counter()
            runs = alarms = 0
            for seed in range(args.seeds):
                for dim in dims:
                    for batch in [None] if options.get("batch") == "none" else batches:
                        report = smgrad.check(
                            path, dim=dim, batch=batch, seed=seed, dtype=dtype, targets=options.get("targets", "onehot")
                        )
                        runs += 1
                        if not report.passed:
                            alarms += 1
                            bad = [f"{r.name}/{r.scenario}/{r.method}" for r in report if r.status != "passed"]
                            print(f"  FALSE ALARM {path} seed={seed} dim={dim} batch={batch} {dtype}: {bad}")
            print(f"{path:<44} {dtype:<8} {runs:>6} {alarms:>13} {time.perf_counter() - t0:>8.1f}")


if __name__ == "__main__":
    main()
