"""Power entry by entry: an implementation whose Jacobian is exact except one
off-diagonal entry J[0, 0, 1], times 1 + error (examples/buggy/one_entry.py), over dims
and seeds; prints, per case, the runs in which the softmax_jacobian and softmax_backward
checks (typical scenario) missed it — neither the numerical comparison nor, where a full
check differentiates sampled columns (B n^2 over 2^17), the comparison of every entry with
the seed's formulas failed — and the largest `resolves` a correct run (error 0) reported
by each. With ``--check loss``: the loss's gradient exact except
entry (0, 1) (cross_entropy_grad), and class 1 of every row (cross_entropy_hessian).

    python benchmarks/entry_power.py --dtype float32 --dims 10,100,300,1000 --errors 1e-3,1,-2
    python benchmarks/entry_power.py --dtype float64 --dims 10,100,300,1000 --errors 1e-10
    python benchmarks/entry_power.py --check loss --dtype float32 --errors 1e-3,1,-2
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import time

import smgrad

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("one_entry", HERE.parent / "examples" / "buggy" / "one_entry.py")
one_entry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(one_entry)
CHECKS = {
    # the checks, and what probes them: (implementation, the checks it is for)
    "softmax": (
        ("softmax_jacobian", "softmax_backward"),
        lambda e: [(one_entry.OneEntry(e), ("softmax_jacobian", "softmax_backward"))],
    ),
    "loss": (
        ("cross_entropy_grad", "cross_entropy_hessian"),
        lambda e: [
            (one_entry.OneGradEntry(e), ("cross_entropy_grad",)),
            (one_entry.OneGradEntry(e, every_row=True), ("cross_entropy_hessian",)),
        ],
    ),
}


def rows(report, names, method):
    """The rows of the checks ``names``: numerical (any method) or ``reference``."""
    return [r for r in report if r.name in names and r.method is not None and (r.method == "reference") == bool(method)]


def _missed(report, name) -> bool:
    return not any(r.status == "failed" for r in report if r.name == name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--dims", default="10,100,300,1000")
    parser.add_argument("--errors", default="1e-3,1,-2")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--check", choices=tuple(CHECKS), default="softmax")
    args = parser.parse_args()
    names, probes = CHECKS[args.check]
    header = f"missed ({', '.join(names)})"
    print(f"{'dtype':<8} {'n':>5} {'error':>8} {'runs':>5} {header:>18} {'resolves':>9} {'(formula)':>9} {'s/run':>6}")
    for dim in (int(d) for d in args.dims.split(",")):
        resolves, formula = 0.0, 0.0
        for seed in range(args.seeds):
            correct = smgrad.check(probes(0.0)[0][0], dim=dim, dtype=args.dtype, seed=seed, scenarios="typical")
            resolves = max([resolves] + [r.resolves for r in rows(correct, names, "") if r.status == "passed"])
            formula = max([formula] + [r.resolves for r in rows(correct, names, "reference") if r.resolves])
        for error in (float(e) for e in args.errors.split(",")):
            t0, missed = time.perf_counter(), dict.fromkeys(names, 0)
            for seed in range(args.seeds):
                for wrong, checked in probes(error):
                    report = smgrad.check(wrong, dim=dim, dtype=args.dtype, seed=seed, scenarios="typical")
                    for name in checked:
                        missed[name] += _missed(report, name)
            seconds = (time.perf_counter() - t0) / args.seeds
            shown = ", ".join(str(missed[name]) for name in names)
            print(
                f"{args.dtype:<8} {dim:>5} {error:>8g} {args.seeds:>5} {shown:>18} {resolves:>9.2g} {formula:>9.2g} "
                f"{seconds:>6.2f}"
            )


if __name__ == "__main__":
    main()
