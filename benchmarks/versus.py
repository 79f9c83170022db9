"""smgrad against the other gradient checkers, in one run, on the same softmax.

For each size, the time of a full Jacobian check of softmax (float64) by each tool
installed, its ratio to smgrad's, and the largest error of the numerical Jacobian the
tool compares with, against the exact ``diag(y) - y y^T``:

* smgrad: ``smgrad.check`` on the reference, one scenario, softmax forward + Jacobian
  (+ identities and row independence), every entry, complex step;
* torch.autograd.gradcheck, default and ``fast_mode=True`` (central differences, eps 1e-6);
* jax.test_util.check_grads (order 1, reverse mode; central differences, eps 1e-4);
* numdifftools.Jacobian (adaptive Richardson extrapolation);
* scipy.optimize.approx_fprime (forward differences) and scipy.differentiate.jacobian;
* bare numpy: the physical limit of a full check here, a chunked central-difference
  Jacobian (2 n^2 real exps per row) compared entry by entry with ``diag(y) - y y^T``,
  nothing else (no allowance model, no identities, no report).

Install the others with ``pip install -e '.[bench]'`` (torch CPU: ``torch==2.13.0``).

    python benchmarks/versus.py [--sizes 1x10,1x100,1x1000,1x3000,32x100] [--repeat 3]
    python benchmarks/versus.py --tools 'smgrad,torch gradcheck,scipy approx_fprime,bare numpy central'
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import numpy as np
from timing import best_time  # beside this file

from smgrad import allocator, analytic, functions, numdiff
from smgrad.checks import run as run_checks
from smgrad.config import Config
from smgrad.impl import Implementation


def exact_jacobian(x):
    """The full (B*n, B*n) Jacobian of softmax over the last axis (block diagonal)."""
    B, n = x.shape
    J = np.zeros((B * n, B * n))
    for b in range(B):
        J[b * n : (b + 1) * n, b * n : (b + 1) * n] = analytic.softmax_jacobian(x[b])
    return J


def smgrad_tool(x, repeat):
    B, n = x.shape
    impl = Implementation(
        "reference",
        softmax=functions.softmax,
        softmax_jacobian=analytic.softmax_jacobian,
        softmax_jacobian_block=analytic.softmax_jacobian_block,
    )

    def run():
        report = run_checks(Config(dim=n, batch=B, scenarios=("typical",), mode="full"), impl)
        assert report.passed

    numerical = numdiff.jacobian(functions.softmax, x, "complex", np.full((B, 1), 2.0**-52))  # (B, n, n)
    error = float(np.abs(numerical - analytic.softmax_jacobian(x)).max())
    return best_time(run, repeat), error


def torch_tool(fast: bool):
    import torch

    def tool(x, repeat):
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)

        def run():
            assert torch.autograd.gradcheck(lambda z: torch.softmax(z, -1), (xt,), fast_mode=fast)

        # gradcheck's numerical Jacobian: central differences with eps = 1e-6
        error = _central_error(x, 1e-6)
        return best_time(run, repeat), error

    return tool


def jax_tool(x, repeat):
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax.test_util import check_grads

    xj = jax.numpy.asarray(x)

    def run():
        check_grads(lambda z: jax.nn.softmax(z, axis=-1), (xj,), order=1, modes=("rev",))

    return best_time(run, repeat), _central_error(x, 1e-4)  # check_grads: central, eps 1e-4


def numdifftools_tool(x, repeat):
    import numdifftools as nd

    flat = lambda z: functions.softmax(z.reshape(x.shape)).ravel()  # noqa: E731
    result = {}

    def run():
        result["J"] = nd.Jacobian(flat)(x.ravel())

    seconds = best_time(run, repeat)
    return seconds, float(np.abs(result["J"] - exact_jacobian(x)).max())


def scipy_fprime_tool(x, repeat):
    from scipy.optimize import approx_fprime

    flat = lambda z: functions.softmax(z.reshape(x.shape)).ravel()  # noqa: E731
    result = {}

    def run():
        result["J"] = approx_fprime(x.ravel(), flat)

    seconds = best_time(run, repeat)
    return seconds, float(np.abs(result["J"] - exact_jacobian(x)).max())


def scipy_differentiate_tool(x, repeat):
    from scipy.differentiate import jacobian

    def flat(z):  # scipy.differentiate passes points as z[:, ...]: the variables first
        rows = np.moveaxis(z, 0, -1).reshape(*z.shape[1:], *x.shape)
        return np.moveaxis(functions.softmax(rows).reshape(*z.shape[1:], x.size), -1, 0)

    result = {}

    def run():
        result["J"] = jacobian(flat, x.ravel()).df

    seconds = best_time(run, repeat)
    return seconds, float(np.abs(result["J"] - exact_jacobian(x)).max())


def bare_tool(x, repeat):
    B, n = x.shape
    h = 6e-6  # eps^(1/3) times the logits' size
    chunk = max(1, 2**18 // (B * n))  # a few MB of perturbed rows at a time
    result = {}

    def run():
        worst = 0.0
        for start in range(0, n, chunk):
            cols = np.arange(start, min(n, start + chunk))
            k = np.arange(cols.size)
            X = np.repeat(x[None], cols.size, axis=0)
            X[k, :, cols] += h
            plus = functions.softmax(X)
            X[k, :, cols] -= 2 * h
            D = (plus - functions.softmax(X)) / (2 * h)  # D[k, b, i] = J[b, i, cols[k]]
            A = np.moveaxis(analytic.softmax_jacobian_block(x, slice(None), cols), -1, 0)
            worst = max(worst, float(np.max(np.abs(D - A) - 1e-8 * np.abs(A))))
        result["worst"] = worst

    seconds = best_time(run, repeat)
    return seconds, _central_error(x, h)


def _central_error(x, eps):
    B = x.shape[0]
    numerical = numdiff.jacobian(functions.softmax, x, "central", np.full((B, 1), eps))
    return float(np.abs(numerical - analytic.softmax_jacobian(x)).max())


TOOLS = {
    "smgrad": smgrad_tool,
    "torch gradcheck": torch_tool(fast=False),
    "torch gradcheck fast": torch_tool(fast=True),
    "jax check_grads": jax_tool,
    "numdifftools": numdifftools_tool,
    "scipy approx_fprime": scipy_fprime_tool,
    "scipy differentiate": scipy_differentiate_tool,
    "bare numpy central": bare_tool,
}
# Beyond these sizes (B*n) a tool takes minutes: not run, said so.
LIMITS = {"numdifftools": 1000, "scipy differentiate": 1000, "torch gradcheck": 3200, "jax check_grads": 3200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1x10,1x100,1x1000,1x3000,32x100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, smgrad first")
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"numpy {np.__version__}; full Jacobian check of softmax, float64, best of {args.repeat}"
    )
    if allocator.keep_freed_pages():  # every tool here runs in this one process
        print("# glibc's mmap and trim thresholds raised, as the smgrad command does (smgrad/allocator.py)")
    blas = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    print(f"# OPENBLAS_* set: {blas} (unset them for this benchmark)" if blas else "# OPENBLAS_* unset")
    print(f"{'B x n':>8}  {'tool':<22} {'seconds':>9} {'vs smgrad':>10} {'max error':>10}")
    for size in args.sizes.split(","):
        B, n = (int(v) for v in size.split("x"))
        x = np.random.default_rng(0).normal(0, 2, size=(B, n))
        base = None
        for name in args.tools.split(","):
            tool = TOOLS[name]
            if B * n > LIMITS.get(name, 10**9):
                print(f"{size:>8}  {name:<22} {'(skipped: minutes at this size)':>31}")
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    seconds, error = tool(x, args.repeat)
            except ImportError:
                print(f"{size:>8}  {name:<22} {'(not installed)':>20}")
                continue
            except Exception as e:  # a tool that rejects a correct softmax says so here
                print(f"{size:>8}  {name:<22} failed: {type(e).__name__}: {str(e).splitlines()[0][:60]}")
                continue
            base = base or seconds
            print(f"{size:>8}  {name:<22} {seconds:>9.4f} {seconds / base:>9.1f}x {error:>10.1e}")


if __name__ == "__main__":
    main()
