"""`**`: an integer literal exponent is `integer_pow` (JAX's rule), computed by one
multiplication chain on every path, bit for bit with JAX; `pow` with a tensor exponent has
JAX's derivatives at x == 0 and y == 0."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.errors import NumericsError
from ddc.ir import Builder, TensorType, Value, f32, f64
from ddc.passes.simplify import simplify

from ..backends import run

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

EXPONENTS = [0, 1, 2, 3, 4, 5, 7, 8, 13, 37, -1, -2, -3, -8]


def special_values(dtype):
    rng = np.random.default_rng(0)
    finfo = np.finfo(dtype)
    fixed = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, finfo.tiny, finfo.max, 1e-30, -3.5, 1.0 + finfo.eps]
    return np.concatenate([fixed, rng.standard_normal(50) * 3, rng.uniform(0.9, 1.1, 50)]).astype(dtype)


def assert_same_bits(got, want):
    """Bit for bit, except that XLA's CPU code flushes subnormal results to (signed) zero."""
    def flushed(a):
        a = np.asarray(a)
        return np.where(np.abs(a) < np.finfo(a.dtype).tiny, np.copysign(0, a), a).astype(a.dtype)

    got, want = flushed(got), flushed(want)
    assert got.dtype == want.dtype
    bits = f"u{got.dtype.itemsize}"
    np.testing.assert_array_equal(got.view(bits), want.view(bits))


def pow_graph(n, dtype):
    b = Builder()
    x = Value(TensorType(dtype, ("n",)), "x")
    return ir.verify(b.graph([x], [b.integer_pow(x, y=n)], "p"))


@pytest.mark.parametrize("dtype", [f32, f64], ids=str)
@pytest.mark.parametrize("n", EXPONENTS)
def test_integer_pow_is_bit_exact_with_jax_on_every_backend(n, dtype, backend):
    x = special_values(dtype.np)
    want = np.asarray(jax.lax.integer_pow(jnp.asarray(x), n))
    with np.errstate(all="ignore"):
        got = run(pow_graph(n, dtype), x, backend=backend)
    assert_same_bits(got, want)


@pytest.mark.parametrize("n", EXPONENTS)
def test_integer_pow_folds_to_the_same_bits(n):
    for value in (0.0, -0.0, 1.7, -2.3, 1e-30):
        for dtype in (f32, f64):
            b = Builder()
            out = b.integer_pow(b.scalar(value, dtype), y=n)
            folded = simplify(b.graph([], [out], "c"))
            node = folded.producers()[folded.outputs[0].id]
            assert node.prim.name == "constant"
            want = np.asarray(jax.lax.integer_pow(jnp.asarray(value, dtype.np), n))
            assert_same_bits(np.asarray(node.params["value"], dtype.np), want)


def test_the_printer_and_parser_round_trip_integer_pow():
    g = pow_graph(-3, f32)
    assert "integer_pow[y=-3]" in str(g)
    assert str(ir.parse_graph(str(g))) == str(g)


SOURCE = """
def zero_power(x: f64) -> f64:
    return x ** 0 + x

def square(x: f64) -> f64:
    return x ** 2

def powers(x: f64[n]) -> f64:
    return sum(x ** 3 - x ** -1 + 2.0 * x ** 1)

def general(x: f64, y: f64) -> f64:
    return x ** y

def float_exponent(x: f64[n]) -> f64[n]:
    return x ** 3.0

def narrow(x: f32[n]) -> f32[n]:
    return x ** 5
"""


@pytest.fixture(scope="module")
def m():
    return ddc.loads(SOURCE, name="powers.dd")


def test_integer_literal_exponents_lower_to_integer_pow(m):
    assert "integer_pow[y=3]" in m.powers.ir and "integer_pow[y=-1]" in m.powers.ir
    assert "integer_pow[y=5]" in m.narrow.ir and " pow " not in m.narrow.ir
    assert "integer_pow" not in m.float_exponent.ir and " pow " in m.float_exponent.ir


def test_derivatives_at_zero_match_jax(m):
    grad, jgrad = ddc.grad, jax.grad
    assert grad(m.zero_power)(0.0) == jgrad(lambda x: x ** 0 + x)(0.0) == 1.0
    assert grad(grad(m.square))(0.0) == jgrad(jgrad(lambda x: x ** 2))(0.0) == 2.0
    assert ddc.hessian(m.square)(0.0) == 2.0
    for x, y in [(0.0, 2.0), (0.0, 0.0), (0.0, 1.0), (2.0, 0.0), (0.0, 3.5), (0.0, 0.5), (0.0, -1.0)]:
        for argnums in (0, 1):
            got, want = grad(m.general, argnums=argnums)(x, y), jgrad(lambda a, b: a ** b, argnums=argnums)(x, y)
            np.testing.assert_array_equal(got, want)
        got_h = ddc.hessian(ddc.loads("def g(v: f64[2]) -> f64:\n    return v[0] ** v[1]\n").g)(np.array([x, y]))
        want_h = jax.hessian(lambda v: v[0] ** v[1])(jnp.array([x, y]))
        np.testing.assert_allclose(got_h, want_h, rtol=1e-12)  # NaN where JAX's is
    assert ddc.grad(m.general, argnums=1)(0.0, 2.0) == 0.0  # log(0) * 0 would be NaN


def test_gradients_of_integer_powers_match_jax_bitwise(m):
    x = special_values(np.float64)[12:]
    got = ddc.grad(m.powers)(x)
    want = jax.grad(lambda v: jnp.sum(v ** 3 - v ** -1 + 2.0 * v ** 1))(x)
    assert_same_bits(got, want)
    x32 = special_values(np.float32)
    with np.errstate(all="ignore"):
        assert_same_bits(m.narrow(x32), np.asarray(ddc.jit(m.narrow, backend="triton")(x32)))


def test_check_grads_of_integer_powers(m):
    ddc.testing.check_grads(m.powers, [np.array([0.5, -1.5, 2.0])], order=2)


def test_vmap_of_integer_pow(m):
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(ddc.vmap(m.narrow, in_axes=1, out_axes=1)(x), np.stack([m.narrow(r) for r in x]))
    np.testing.assert_array_equal(ddc.vmap(ddc.grad(m.powers))(x.astype(np.float64)),
                                  np.stack([ddc.grad(m.powers)(r) for r in x.astype(np.float64)]))


def test_debug_nans_names_a_negative_power_of_zero(m):
    with ddc.config(debug_nans=True), pytest.raises(NumericsError) as info:
        m.powers(np.array([0.0, 1.0]))
    assert "integer_pow" in info.value.message and "negative power" in info.value.hint
