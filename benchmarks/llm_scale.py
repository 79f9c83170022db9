"""``smgrad check`` at an LLM's vocabulary and batch (issue 14, part 4), and at a million
classes in fast mode: wall time, peak RSS and the verdict of each implementation, each
in a fresh process (``os.wait4`` gives that child's own peak).

By default: 1024 rows of 262,144 classes (Gemma's vocabulary) in float32 — the reference,
a correct numpy implementation, a diagonal-only backward and a gradient wrong at every
row's target class — then one row of 10^6 classes in fast mode (the reference, the
diagonal-only backward and one that returns zeros).

    python benchmarks/llm_scale.py [--dim 262144] [--batch 1024] [--dtype float32] [--million/--no-million]

Set ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` aside for this command alone (the
environment notes say why); the script says whether they were set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LARGE = [
    ("reference", None),
    ("correct numpy", "examples/correct/numpy_layer.py"),
    ("diagonal-only backward", "examples/buggy/diagonal_only.py"),
    ("wrong target entry, every row", "examples/buggy/one_entry.py:TargetEntry"),
]
ZEROS = "import numpy as np\ndef softmax_backward(x, grad_y):\n    return np.zeros_like(x)\n"
MILLION = [
    ("reference", None),
    ("diagonal-only backward", "examples/buggy/diagonal_only.py"),
    ("zero backward", "ZEROS"),
]


def measure(options: list[str], spec: str | None) -> tuple[float, int, int, str]:
    """``(seconds, peak RSS bytes, exit code, verdict line)`` of one ``smgrad check``."""
    command = [sys.executable, "-m", "smgrad", "check", *options, "--quiet"]
    if spec is not None:
        command += ["--impl", spec]
    t0 = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return seconds, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status), last.split(" · ")[0]


def table(title: str, options: list[str], runs) -> None:
    print(f"\n{title}: smgrad check {' '.join(options)}")
    print(f"{'implementation':32} {'seconds':>8} {'peak RSS':>10} {'exit':>5}  verdict")
    for name, spec in runs:
        seconds, rss, code, verdict = measure(options, spec)
        print(f"{name:32} {seconds:8.1f} {rss / 2**30:8.2f} GiB {code:5d}  {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=262144)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--million", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    blas = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    print(f"OPENBLAS_* set: {blas or 'no'}; {os.cpu_count()} cores")
    large = ["--dim", str(args.dim), "--batch", str(args.batch), "--dtype", args.dtype]
    table("LLM scale", large, LARGE)
    if args.million:
        zeros = ROOT / "benchmarks" / "_zeros.py"
        zeros.write_text(ZEROS)
        try:
            runs = [(name, str(zeros) if spec == "ZEROS" else spec) for name, spec in MILLION]
            table("a million classes", ["--dim", "1000000", "--batch", "1", "--mode", "fast"], runs)
        finally:
            zeros.unlink()


if __name__ == "__main__":
    main()
