"""A tuple of argnums gives its results in the order given, as JAX does, on every path."""
from __future__ import annotations

import re

import numpy as np
import pytest

import ddc

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

SOURCE = """
def h(x: f64[3], y: f64[2]) -> f64:
    return sum(x * x) * sum(sin(y))

def hv(x: f64[3], y: f64[2]) -> f64[2]:
    return sum(x * x) * sin(y)

def first_of_reversed(x: f64[3], y: f64[2]) -> f64[2]:
    gy, gx = grad(h, argnums=(1, 0))(x, y)
    return gy

def value_and_reversed(x: f64[3], y: f64[2]) -> f64[3]:
    v, g = value_and_grad(h, argnums=(1, 0))(x, y)
    gy, gx = g
    return gx * v
"""


def h_jax(x, y):
    return jnp.sum(x * x) * jnp.sum(jnp.sin(y))


def hv_jax(x, y):
    return jnp.sum(x * x) * jnp.sin(y)


@pytest.fixture(scope="module")
def m():
    return ddc.loads(SOURCE, name="argnums.dd")


X, Y = np.array([0.5, -1.0, 2.0]), np.array([0.3, 1.2])


def assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("argnums", [(1, 0), (0, 1), (1,), (-1, 0)])
def test_grad_and_value_and_grad_follow_argnums(m, argnums):
    assert_same(ddc.grad(m.h, argnums=argnums)(X, Y), jax.grad(h_jax, argnums=argnums)(X, Y))
    value, grads = ddc.value_and_grad(m.h, argnums=argnums)(X, Y)
    want_value, want_grads = jax.value_and_grad(h_jax, argnums=argnums)(X, Y)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    assert_same(grads, want_grads)


@pytest.mark.parametrize("argnums", [(1, 0), (0, 1), (1,)])
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_follow_argnums(m, transform, argnums):
    got = getattr(ddc, transform)(m.hv, argnums=argnums)(X, Y)
    assert isinstance(got, tuple)
    assert_same(got, getattr(jax, transform)(hv_jax, argnums=argnums)(X, Y))


def test_gradient_names_follow_argnums(m):
    text = ddc.grad(m.h, argnums=(1, 0)).ir
    assert "%grad_y:f64[2]" in text and "%grad_x:f64[3]" in text
    assert text.strip().splitlines()[-1].strip() == "return %grad_y, %grad_x"


def test_inside_dd_the_checker_and_the_graph_agree(m):
    np.testing.assert_allclose(m.first_of_reversed(X, Y), jax.grad(h_jax, argnums=1)(X, Y), rtol=1e-12)
    v, (gy, gx) = jax.value_and_grad(h_jax, argnums=(1, 0))(X, Y)
    np.testing.assert_allclose(m.value_and_reversed(X, Y), gx * v, rtol=1e-12)


def test_hessian_of_a_reversed_pair_in_dd():
    m = ddc.loads("""
def h(x: f64[3], y: f64[2]) -> f64:
    return sum(x * x) * sum(sin(y))

def gy(x: f64[3], y: f64[2]) -> f64:
    a, b = grad(h, argnums=(1, 0))(x, y)
    return sum(a) + 2.0 * sum(b)
""")
    def gy_jax(x, y):
        a, b = jax.grad(h_jax, argnums=(1, 0))(x, y)
        return jnp.sum(a) + 2.0 * jnp.sum(b)

    assert_same(ddc.grad(m.gy, argnums=(1, 0))(X, Y), jax.grad(gy_jax, argnums=(1, 0))(X, Y))


@pytest.mark.parametrize("argnums, says", [((), "argnums is empty"), ((0, (1,)), "a tuple of ints"),
                                            ((0, 2), "argnums 2 is out of range: h takes 2 arguments"),
                                            ((1, -1), "repeats an argument")])
def test_bad_argnums_are_transform_errors(m, argnums, says):
    with pytest.raises(ddc.TransformError, match=re.escape(says)):
        ddc.grad(m.h, argnums=argnums)(X, Y)
