"""The README's derivative conventions at kinks, from `.dd` source, against JAX (whose
abs'(0) is 1; ddc's is sign(0) = 0, as PyTorch's)."""
from __future__ import annotations

import numpy as np
import pytest

import ddc

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

SOURCE = """
def kinks(x: f64[5], y: f64[5]) -> f64:
    return sum(relu(x) + 2.0 * abs(x) + 3.0 * maximum(x, y) + 5.0 * minimum(x, y)) + 7.0 * max(x) + 11.0 * min(y)
"""


def kinks_jax(x, y):
    abs_x = x * jax.lax.stop_gradient(jnp.sign(x))  # |x| with the derivative sign(x)
    return (jnp.sum(jax.nn.relu(x) + 2.0 * abs_x + 3.0 * jnp.maximum(x, y) + 5.0 * jnp.minimum(x, y))
            + 7.0 * jnp.max(x) + 11.0 * jnp.min(y))


def test_kinks_match_jax():
    m = ddc.loads(SOURCE)
    x = np.array([0.0, 1.0, -1.0, 1.0, 0.0])  # relu and abs at 0, max of x tied three ways
    y = np.array([0.0, 1.0, 2.0, -3.0, -3.0])  # ties with x at 0 and 1, min of y tied
    got = ddc.grad(m.kinks, argnums=(0, 1))(x, y)
    want = jax.grad(kinks_jax, argnums=(0, 1))(x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-15)
    # relu'(0) = abs'(0) = 0; a tie splits maximum/minimum 50/50; max(x) splits over its ties
    np.testing.assert_allclose(got[0], [0 + 0 + 1.5 + 2.5, 1 + 2 + 1.5 + 2.5 + 3.5, -2 + 5, 1 + 2 + 3 + 3.5, 3])
