"""Slices and pads with empty dims and strides: types, transposes, gradients and batching
agree with numpy (and JAX's lax.pad) for every length a strided slice can have."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.ir import Builder, TensorType, Value, f64
from ddc.passes.transpose import transpose
from ddc.passes.vmap import vmap

from ..backends import run

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

# (operand length, start, limit, stride): every empty and short strided case
SLICES = [(6, 3, 3, 2), (6, 0, 0, 1), (6, 6, 6, 1), (6, 2, 2, 3), (0, 0, 0, 3), (1, 0, 1, 3),
          (2, 0, 2, 3), (3, 0, 3, 3), (6, 5, 6, 2), (7, 1, 6, 2)]


def slice_graph(n, start, limit, stride, *, rows=2):
    b = Builder()
    x = Value(TensorType(f64, (rows, n)), "x")
    out = b.slice(x, start=(0, start), limit=(rows, limit), stride=(1, stride))
    return ir.verify(b.graph([x], [out], "sliced"))


@pytest.mark.parametrize("n, start, limit, stride", SLICES)
def test_pad_type_rule_matches_lax_pad(n, start, limit, stride):
    for interior in (0, 1, 2):
        b = Builder()
        x = Value(TensorType(f64, (n,)), "x")
        out = b.pad(x, low=(start,), high=(limit,), interior=(interior,))
        want = jax.lax.pad(np.ones(n), 0.0, [(start, limit, interior)])
        assert tuple(out.shape) == want.shape
        np.testing.assert_array_equal(run(b.graph([x], [out], "p"), np.ones(n)), want)


@pytest.mark.parametrize("n, start, limit, stride", SLICES)
def test_slice_transpose_is_the_adjoint(n, start, limit, stride, backend):
    g = slice_graph(n, start, limit, stride)
    x = np.random.default_rng(0).standard_normal((2, n))
    want = x[:, start:limit:stride]
    assert tuple(g.outputs[0].shape) == want.shape
    np.testing.assert_array_equal(run(g, x, backend=backend), want)
    back = ir.verify(transpose(g, [True]))
    ct = np.random.default_rng(1).standard_normal(want.shape)
    got = run(back, ct, backend=backend)
    expected = np.zeros((2, n))
    expected[:, start:limit:stride] = ct
    assert got.shape == (2, n)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n, start, limit, stride", SLICES)
def test_pad_transpose_is_a_slice(n, start, limit, stride, backend):
    b = Builder()
    x = Value(TensorType(f64, (n,)), "x")
    b.pad(x, low=(start,), high=(stride,), interior=(stride - 1,))
    g = ir.verify(b.graph([x], [b.nodes[-1].out], "padded"))
    ct = np.random.default_rng(2).standard_normal(tuple(g.outputs[0].shape))
    back = ir.verify(transpose(g, [True]))
    want = jax.linear_transpose(lambda v: jax.lax.pad(v, 0.0, [(start, stride, stride - 1)]), np.zeros(n))(ct)[0]
    got = run(back, ct, backend=backend)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n, start, limit, stride", SLICES)
def test_vmap_of_a_strided_slice_and_its_gradient(n, start, limit, stride, backend):
    g = slice_graph(n, start, limit, stride, rows=3)
    batched = ir.verify(vmap(g, (1,), (0,)))
    x = np.random.default_rng(3).standard_normal((3, 4, n))
    np.testing.assert_array_equal(run(batched, x, backend=backend), np.moveaxis(x, 1, 0)[:, :, start:limit:stride])
    back = ir.verify(vmap(transpose(g, [True]), (0,), (0,)))
    ct = np.random.default_rng(4).standard_normal((5, 3, len(range(start, limit, stride))))
    want = np.zeros((5, 3, n))
    want[:, :, start:limit:stride] = ct
    np.testing.assert_array_equal(run(back, ct, backend=backend), want)


SOURCES = {
    "x[3:3:2]": "return sum(x[3:3:2]) + sum(x * x)",
    "x[0:0]": "return sum(x[0:0]) + sum(x * x)",
    "x[5:2]": "return sum(x[5:2] * 2.0) + sum(x * x)",
    "x[5:2:2]": "return sum(x[5:2:2] * 2.0) + sum(x * x)",
    "x[::3]": "return sum(x[::3] * x[::3]) + sum(x)",
}


@pytest.mark.parametrize("expr", SOURCES)
@pytest.mark.parametrize("n", [0, 1, 2, 6])
def test_gradients_of_empty_and_short_slices_match_jax(expr, n):
    m = ddc.loads(f"def f(x: f64[{n}]) -> f64:\n    {SOURCES[expr]}\n")
    jnp = jax.numpy

    def f_jax(x):
        return eval(SOURCES[expr].removeprefix("return "), {"sum": jnp.sum, "x": x})

    x = np.linspace(-1.0, 2.0, n)
    want = jax.grad(f_jax)(x)
    got = ddc.grad(m.f)(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-15)
    got_triton = ddc.jit(ddc.grad(m.f), backend="triton")(x)
    np.testing.assert_allclose(np.asarray(got_triton), want, rtol=1e-15)
    hess = ddc.hessian(m.f)(x)
    np.testing.assert_allclose(hess, jax.hessian(f_jax)(x), rtol=1e-15)
