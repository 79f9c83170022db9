"""Two verdicts of torch.autograd.gradcheck that smgrad gets right, measured.

* default settings on a correct float32 softmax: rejected (eps=1e-6 is far too small a
  step in float32);
* fast_mode=True on a softmax whose backward returns zeros: accepted from n = 100 on.

    python benchmarks/torch_power.py      (needs torch: pip install -e '.[bench]')
"""

import warnings

import torch

import smgrad


class ZeroBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        return torch.softmax(z, -1)

    @staticmethod
    def backward(ctx, g):
        return torch.zeros_like(g)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{'n':>6} {'torch: correct float32':>24} {'torch fast: zero backward':>26} {'smgrad: both':>14}")
    for n in (10, 100, 1000):
        x32 = torch.randn(n, dtype=torch.float32, requires_grad=True)
        correct = torch.autograd.gradcheck(lambda z: torch.softmax(z, -1), (x32,), raise_exception=False)
        x64 = torch.randn(n, dtype=torch.float64, requires_grad=True)
        zeros = torch.autograd.gradcheck(ZeroBackward.apply, (x64,), fast_mode=True, raise_exception=False)
        ours_correct = smgrad.check(dim=n, dtype="float32").passed
        ours_zeros = smgrad.check({"softmax_backward": lambda x, g: 0 * x}, dim=n, mode="fast").passed
        print(
            f"{n:>6} {'accepted' if correct else 'REJECTED':>24} {'ACCEPTED' if zeros else 'rejected':>26} "
            f"{('ok' if ours_correct and not ours_zeros else 'WRONG'):>14}"
        )


if __name__ == "__main__":
    main()
