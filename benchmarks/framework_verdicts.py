"""The verdict of every torch, JAX and Triton example in every dtype, one table: a default
run (dim 10, every scenario, the cases it adds), and the smallest relative error in one
entry each dtype's checks resolve. Examples whose library is not installed are left out.

    python benchmarks/framework_verdicts.py [--dim 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported anywhere

import smgrad

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
DTYPES = ("float64", "float32", "bfloat16", "float16")
SPECS = [  # (library, spec, options)
    ("torch", "torch/functions.py", {}),
    ("torch", "torch/autograd_function.py:Softmax", {}),
    ("torch", "torch/module.py:SoftCrossEntropy", {}),
    ("torch", "torch", {}),
    ("torch", "torch/diagonal_backward.py:Softmax", {}),
    ("jax", "jax/functions.py", {}),
    ("jax", "jax", {}),
    ("triton", "triton/cross_entropy.py", {"targets": "index"}),
    ("triton", "triton/buggy.py:StoreThenCorrect", {"targets": "index"}),
    ("triton", "triton/buggy.py:ScalarUpstream", {"targets": "index", "reduction": "none"}),
    ("triton", "triton/buggy.py:CountsIgnored", {"targets": "index", "ignore_index": -100}),
    ("triton", "triton/buggy.py:FloorBlocks", {"targets": "index"}),
    ("triton", "triton/buggy.py:InPlace", {"targets": "index"}),
]


def verdict(report) -> str:
    if report.passed:
        return "pass"
    bad = sorted({(r.name, r.scenario) for r in report if r.status in ("failed", "error", "inconclusive")})
    names = sorted({n for n, _ in bad})
    scenarios = sorted({s for _, s in bad})
    return f"FAIL {'+'.join(names)} ({','.join(scenarios)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10)
    args = parser.parse_args()
    resolves: dict[str, list[float]] = {d: [] for d in DTYPES}
    print(f"| example | {' | '.join(DTYPES)} |\n|---|{'---|' * len(DTYPES)}")
    for library, name, options in SPECS:
        if importlib.util.find_spec(library) is None:
            continue
        spec = name if name in ("torch", "jax") else str(EXAMPLES / name)
        cells = []
        for dtype in DTYPES:
            if library == "jax" and dtype == "float16":
                cells.append("-")
                continue
            report = smgrad.check(spec, dim=args.dim, dtype=dtype, **options)
            cells.append(verdict(report))
            resolves[dtype] += [r.resolves for r in report if r.status == "passed" and r.resolves]
        print(f"| `{name}` | {' | '.join(cells)} |", flush=True)
    for dtype, found in resolves.items():
        if found:
            print(f"{dtype}: passing checks resolve one entry's relative error of {min(found):.1g} to {max(found):.1g}")


if __name__ == "__main__":
    main()
