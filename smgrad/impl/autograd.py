"""The backward an array library's autograd runs for a forward, as a protocol function:
where an implementation on torch or JAX arrays gives ``softmax`` or ``cross_entropy`` but
not its backward, smgrad checks the backward that training calls —
``torch.autograd.grad`` / ``jax.vjp`` of the forward, with the checks' random upstream
gradients — like a hand-written one. A forward that autograd cannot follow (numpy inside,
a detached tensor) makes that backward raise, and its checks fail with autograd's words.

The complex step does not differentiate these: autograd's derivative of complex input is
the Wirtinger one, not the analytic continuation the complex step needs, so they refuse
complex input and the checks that differentiate them take real steps.
"""

from __future__ import annotations

from collections.abc import Callable

from smgrad.impl.arrays import Arrays

# backward -> its forward
DERIVED = {"softmax_backward": "softmax", "cross_entropy_grad": "cross_entropy"}
COMPLEX = "autograd's derivative of complex input is not the complex step's (Wirtinger calculus)"


def derive(found: dict[str, Callable], arrays: Arrays) -> tuple[dict[str, Callable], dict[str, str]]:
    """``found`` with each missing backward derived from its forward by ``arrays``'s
    autograd, and what each derived one is (``{"softmax_backward": "torch.autograd of
    softmax"}``). numpy has no autograd: ``found`` as it is."""
    make = {"torch": _torch, "jax": _jax}.get(arrays.name)
    if make is None:
        return found, {}
    out, said = dict(found), {}
    for backward, forward in DERIVED.items():
        if backward not in found and forward in found:
            out[backward] = make(arrays, found[forward], backward)
            said[backward] = f"{'torch.autograd' if arrays.name == 'torch' else 'jax.vjp'} of {forward}"
    return out, said


def _torch(arrays, forward: Callable, backward: str) -> Callable:
    torch = arrays.torch

    def run(x, *more):
        if x.is_complex():
            raise TypeError(COMPLEX)
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            if backward == "softmax_backward":
                y = forward(x)
                (grad,) = torch.autograd.grad(y, x, more[0].to(y.dtype))
            else:  # a third argument: each row's upstream gradient (reduction none)
                losses = forward(x, more[0])
                upstream = more[1].to(losses.dtype) if len(more) > 1 else None
                (grad,) = torch.autograd.grad(losses, x, upstream)
        return grad

    run.__name__ = run.__qualname__ = backward
    return run


def _jax(arrays, forward: Callable, backward: str) -> Callable:
    jax, jnp = arrays.jax, arrays.jnp

    def run(x, *more):
        if jnp.iscomplexobj(x):
            raise TypeError(COMPLEX)
        if backward == "softmax_backward":
            y, vjp = jax.vjp(forward, x)
            return vjp(more[0].astype(y.dtype))[0]
        if len(more) > 1:  # each row's upstream gradient (reduction none)
            losses, vjp = jax.vjp(lambda z: forward(z, more[0]), x)
            return vjp(more[1].astype(losses.dtype))[0]
        return jax.grad(lambda z: forward(z, *more))(x)

    run.__name__ = run.__qualname__ = backward
    return run
