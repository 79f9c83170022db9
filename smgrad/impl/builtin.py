"""``--impl torch`` and ``--impl jax``: the library's own softmax and cross-entropy, whose
backward is its autograd's — a one-line answer to "is my build right in this dtype, on
this device?"."""

from __future__ import annotations

from collections.abc import Callable

from smgrad.impl.arrays import require

LIBRARIES = ("torch", "jax")


def functions(library: str, reduction: str) -> dict[str, Callable]:
    """``softmax`` and ``cross_entropy`` (dense targets or class ids, ``reduction`` over
    the rows of a batch) of ``library``."""
    return _torch(reduction) if library == "torch" else _jax(reduction)


def _torch(reduction: str) -> dict[str, Callable]:
    torch = require("torch", "torch")

    def softmax(x):
        return torch.softmax(x, dim=-1)

    def cross_entropy(x, t):
        return torch.nn.functional.cross_entropy(x, t, reduction=reduction)

    return {"softmax": softmax, "cross_entropy": cross_entropy}


def _jax(reduction: str) -> dict[str, Callable]:
    jax = require("jax", "jax")
    jnp = jax.numpy

    def softmax(x):
        return jax.nn.softmax(x, axis=-1)

    def cross_entropy(x, t):
        if jnp.issubdtype(t.dtype, jnp.integer):
            t = jax.nn.one_hot(t, x.shape[-1], dtype=x.dtype)
        rows = -jnp.sum(t * jax.nn.log_softmax(x, axis=-1), axis=-1)
        return jnp.mean(rows) if reduction == "mean" else jnp.sum(rows)

    return {"softmax": softmax, "cross_entropy": cross_entropy}
