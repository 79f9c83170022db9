"""Correct: softmax + cross-entropy as plain JAX functions; smgrad checks the backward
jax.vjp derives from them (no backward is written by hand).

    smgrad check --impl examples/jax/functions.py --dtype float32
"""

import jax
import jax.numpy as jnp


def _wide(a):
    """``a`` in at least float32 (bfloat16 and float16 compute in float32, round once)."""
    return a.astype(jnp.promote_types(a.dtype, jnp.float32))


def softmax(x):
    return jax.nn.softmax(_wide(x), axis=-1).astype(x.dtype)


def cross_entropy(x, target):
    rows = -jnp.sum(_wide(target) * jax.nn.log_softmax(_wide(x), axis=-1), axis=-1)
    return (jnp.mean(rows) if x.ndim > 1 else rows).astype(x.dtype)
