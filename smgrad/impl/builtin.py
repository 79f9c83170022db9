"""``--impl torch`` and ``--impl jax``: the library's own softmax and cross-entropy, whose
backward is its autograd's — a one-line answer to "is my build right in this dtype, on
this device?"."""

from __future__ import annotations

from collections.abc import Callable

from smgrad.impl.arrays import require

LIBRARIES = ("torch", "jax")


def functions(library: str, reduction: str, ignore_index=None, label_smoothing: float = 0.0) -> dict[str, Callable]:
    """``softmax`` and ``cross_entropy`` (dense targets or class ids, ``reduction`` over
    the rows of a batch) of ``library``."""
    return (_torch if library == "torch" else _jax)(reduction, ignore_index, label_smoothing)


def _torch(reduction: str, ignore_index: int | None, label_smoothing: float) -> dict[str, Callable]:
    torch = require("torch", "torch")
    ignored = -100 if ignore_index is None else ignore_index

    def softmax(x):
        return torch.softmax(x, dim=-1)

    def cross_entropy(x, t):
        return torch.nn.functional.cross_entropy(
            x, t, reduction=reduction, ignore_index=ignored, label_smoothing=label_smoothing
        )

    return {"softmax": softmax, "cross_entropy": cross_entropy}


def _jax(reduction: str, ignore_index: int | None, label_smoothing: float) -> dict[str, Callable]:
    jax = require("jax", "jax")
    jnp = jax.numpy

    def softmax(x):
        return jax.nn.softmax(x, axis=-1)

    def cross_entropy(x, t):
        kept = jnp.ones(t.shape[:-1] if not jnp.issubdtype(t.dtype, jnp.integer) else t.shape, dtype=x.dtype)
        if jnp.issubdtype(t.dtype, jnp.integer):
            if ignore_index is not None:
                kept = (t != ignore_index).astype(x.dtype)
            t = jax.nn.one_hot(t, x.shape[-1], dtype=x.dtype) * (1 - label_smoothing) + label_smoothing / x.shape[-1]
        rows = -jnp.sum(t * jax.nn.log_softmax(x, axis=-1), axis=-1) * kept
        if reduction == "none":
            return rows
        return jnp.sum(rows) / jnp.maximum(jnp.sum(kept), 1) if reduction == "mean" else jnp.sum(rows)

    return {"softmax": softmax, "cross_entropy": cross_entropy}
