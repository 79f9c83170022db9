"""The kernels on a GPU: the Triton fused cross-entropy (correct, and the variant that
stores softmax before subtracting the target) and the torch examples, checked in
bfloat16 at an LLM vocabulary, with the time and verdict of each.

    python benchmarks/gpu.py                        # CUDA: vocab 262144, batch 4, bfloat16
    python benchmarks/gpu.py --cpu --vocab 32000    # no GPU: the same, Triton interpreted

Without a CUDA device and without ``--cpu`` it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is imported anywhere

import smgrad

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
SPECS = [  # (spec, options it needs, what the verdict should be)
    ("triton/cross_entropy.py", {"targets": "index"}, "pass"),
    ("triton/buggy.py:StoreThenCorrect", {"targets": "index"}, "fail"),
    ("torch/functions.py", {}, "pass"),
    ("torch/module.py:SoftCrossEntropy", {}, "pass"),
    ("torch", {}, "torch's own"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=262144)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (Triton under its interpreter)")
    args = parser.parse_args()
    if torch.cuda.is_available():
        device, where = "cuda", torch.cuda.get_device_name()
    elif args.cpu:
        device, where = "cpu", "CPU (TRITON_INTERPRET=1)"
    else:
        print("no CUDA device here (torch.cuda.is_available() is False); --cpu runs the same on the CPU")
        sys.exit(0)
    print(f"{where}, torch {torch.__version__}, vocab {args.vocab}, batch {args.batch}, {args.dtype}")
    print(f"{'implementation':<36} {'seconds':>8}  verdict (expected)")
    for name, options, expected in SPECS:
        spec = name if name == "torch" else os.path.join(EXAMPLES, name)
        if name.startswith("triton") and importlib.util.find_spec("triton") is None:
            print(f"{name:<36} {'-':>8}  triton not installed")
            continue
        start = time.perf_counter()
        report = smgrad.check(
            spec, dim=args.vocab, batch=args.batch, dtype=args.dtype, device=device, array="torch", **options
        )
        seconds = time.perf_counter() - start
        bad = sorted({f"{r.name}/{r.scenario}" for r in report if r.status in ("failed", "error", "inconclusive")})
        verdict = "pass" if report.passed else "FAIL " + ", ".join(bad)
        print(f"{name:<36} {seconds:>8.1f}  {verdict} ({expected})", flush=True)


if __name__ == "__main__":
    main()
