"""What ``smgrad check --dim 1000000 --batch 1`` cannot do without, timed apart, against
the whole command (issue 14's goal there: 1 s).

A default run at a million classes is seven runs (the four scenarios; float32, soft and
smoothed targets: :mod:`smgrad.coverage`). Whatever else a check does, each must draw its
problem, call the implementation's four functions (softmax, its backward, the loss, its
gradient) once and compare each with a float64 truth. This script times those alone —
the problems drawn as smgrad draws them, the built-in reference called, the truths made
and compared as the forward checks do — and the command's imports, then runs the
command itself, each in the same session:

    python benchmarks/million_floor.py [--dim 1000000] [--repeat 3]

Set ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` aside for this command alone (the
environment notes say why); the script says whether they were set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from smgrad import allocator, analytic, coverage, functions, options, problems
from smgrad.compare import Comparison, Tolerance
from smgrad.config import Config
from smgrad.impl import reference

IMPORTS = "import smgrad.api, smgrad.checks.run, smgrad.render.terminal, rich.console"


def runs(dim: int) -> list[Config]:
    """The runs of ``smgrad check --dim DIM --batch 1``: the command's own and its extra cases."""
    given = options.parse({"dim": dim, "batch": 1})
    configs = [Config(**run) for run in options.runs(options.with_defaults(given))]
    cases, _ = coverage.cases(configs, given, lambda: None, reference("mean", False))
    return configs + [case.config for case in cases]


def drawn(configs: list[Config]) -> list[problems.Problem]:
    return [
        problems.make_problem(
            scenario,
            c.dim,
            c.batch,
            c.dtype,
            c.seed,
            c.scale,
            c.targets,
            c.label_smoothing,
            c.target_sum,
            c.ignore_index,
            c.reduction,
        )
        for c in configs
        for scenario in c.scenarios
    ]


def judged(p: problems.Problem) -> None:
    """The four functions called once, their float64 truths and four comparisons."""
    ref = reference("mean", False)
    x64, t64, g64 = p.x.astype(float), p.t.astype(float), p.g.astype(float)
    truths = (
        functions.softmax_via_logsumexp(x64),
        analytic.softmax_vjp(x64, g64),
        functions.cross_entropy(x64, t64),
        analytic.cross_entropy_grad(x64, t64),
    )
    given = (
        ref.softmax(p.x),
        ref.softmax_backward(p.x, p.g),
        ref.cross_entropy(p.x, p.t),
        ref.cross_entropy_grad(p.x, p.t),
    )
    for value, truth in zip(given, truths, strict=True):
        Comparison().add(value, truth, Tolerance(1e-16 * abs(truth), 1e-15), lambda q: (q,))


def best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    blas = [name for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if name in os.environ]
    print(f"# OPENBLAS_* set: {', '.join(blas) if blas else 'none'}")
    allocator.keep_freed_pages()  # as the command does
    configs = runs(args.dim)
    count = sum(len(c.scenarios) for c in configs)
    imports, drawing, calls, command = [], [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORTS], check=True)
        imports.append(time.perf_counter() - start)
        start = time.perf_counter()
        ps = drawn(configs)
        drawing.append(time.perf_counter() - start)
        start = time.perf_counter()
        for p in ps:
            judged(p)
        calls.append(time.perf_counter() - start)
        del ps
        start = time.perf_counter()
        argv = ["smgrad", "check", "--dim", str(args.dim), "--batch", "1", "--quiet"]
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL)
        command.append(time.perf_counter() - start)
    floor = best(imports) + best(drawing) + best(calls)
    print(f"smgrad check --dim {args.dim} --batch 1: {count} problems (scenarios, extra cases); best of {args.repeat}")
    rows = [
        ("imports (numpy, rich, smgrad)", best(imports)),
        ("drawing the problems", best(drawing)),
        ("four calls, four float64 truths, four comparisons", best(calls)),
        ("floor: no derivative taken, nothing reported", floor),
        ("the command itself", best(command)),
    ]
    for what, seconds in rows:
        print(f"  {what:<52} {seconds:7.3f} s")
    print(f"  the command takes {best(command) / floor:.1f}x the floor")


if __name__ == "__main__":
    main()
