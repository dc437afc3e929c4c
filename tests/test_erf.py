"""`erf`, the primitive added by following CONTRIBUTING.md's "add a primitive" literally:
its values against independent implementations, its special values on every path, its
derivatives to order 2, batching, and the `.dd` builtin.

The reference (`ir/reference.py`) is C's `math.erf` of each element in f64, rounded to
the dtype; the numpy backend calls the same definition (bit for bit, asserted across
all primitives in `test_primitive_semantics.py`), Triton calls `tl.math.erf` (under its
interpreter, `math.erf` again; on a GPU libdevice's, 2 ulps by CUDA's documentation,
inside `GPU_ULPS`)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ddc
from ddc.ir import Builder, TensorType, Value, f32, f64
from ddc.ir.reference import evaluate
from ddc.testing import check_grads

from .backends import assert_same_numbers, run, ulp_distance

X64 = np.concatenate([np.linspace(-6, 6, 2001), np.geomspace(1e-300, 1e-3, 50), -np.geomspace(1e-300, 1e-3, 50)])


def erf_graph(dtype=f64):
    x = Value(TensorType(dtype, ("n",)), "x")
    b = Builder()
    return b.graph([x], [b.bind("erf", x)], "erf")


def math_erf(x: np.ndarray) -> np.ndarray:
    return np.array([math.erf(v) for v in x.tolist()], x.dtype)


def test_reference_is_math_erf_rounded_to_the_dtype():
    (got64,) = evaluate(erf_graph(f64), X64)
    assert np.array_equal(got64, math_erf(X64))
    x32 = X64.astype(np.float32)
    (got32,) = evaluate(erf_graph(f32), x32)
    assert got32.dtype == np.float32
    assert np.array_equal(got32, math_erf(x32.astype(np.float64)).astype(np.float32))


def test_reference_within_two_ulps_of_scipy():
    """Cephes' erf and glibc's are each within about an ulp of the true value."""
    special = pytest.importorskip("scipy.special")
    (got,) = evaluate(erf_graph(f64), X64)
    assert ulp_distance(got, special.erf(X64)).max() <= 2


def test_reference_within_an_ulp_of_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    want = np.asarray(jax.scipy.special.erf(jax.numpy.asarray(X64, dtype=jax.numpy.float64)))
    (got,) = evaluate(erf_graph(f64), X64)
    assert want.dtype == np.float64
    assert ulp_distance(got, want).max() <= 1


@pytest.mark.parametrize("dtype", [f32, f64])
def test_special_values_on_both_backends(backend, dtype):
    """NaN stays NaN, ±0 keeps its sign, ±inf is ±1; an empty input is an empty output."""
    x = np.array([np.nan, 0.0, -0.0, np.inf, -np.inf, 1.0, -1.0], dtype.np)
    got = run(erf_graph(dtype), x, backend=backend)
    assert np.isnan(got[0])
    assert np.array_equal(np.signbit(got[1:3]), [False, True]) and not got[1:3].any()
    assert_same_numbers(got[1:], np.array([0.0, -0.0, 1.0, -1.0, math.erf(1.0), -math.erf(1.0)], dtype.np),
                        backend)
    empty = run(erf_graph(dtype), np.zeros(0, dtype.np), backend=backend)
    assert empty.shape == (0,) and empty.dtype == dtype.np


def test_both_backends_agree_with_the_reference(backend):
    (want,) = evaluate(erf_graph(f64), X64)
    assert_same_numbers(run(erf_graph(f64), X64, backend=backend), want, backend)


PROGRAM = """
def gelu(x: float[n]) -> float[n]:
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)))

def total(x: float[n]) -> float:
    return sum(erf(x))
"""


@pytest.fixture(scope="module")
def m():
    return ddc.loads(PROGRAM, name="erf.dd")


def test_builtin_gives_exact_gelu(m):
    x = np.linspace(-4, 4, 17)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(m.gelu(x), want, rtol=1e-15, atol=1e-300)


def test_derivative_is_two_over_root_pi_exp_minus_x_squared(m):
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ddc.grad(m.total)(x), 2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-15)


def test_gradients_to_order_two(m):
    x = np.random.default_rng(0).standard_normal(5)
    check_grads(m.gelu, [x], order=2)
    check_grads(m.total, [x], order=2)


def test_vmap_is_erf_of_each_row(m):
    x = np.random.default_rng(1).standard_normal((4, 3))
    got = ddc.vmap(m.total)(x)
    np.testing.assert_array_equal(got, [m.total(row) for row in x])
