"""The reference evaluator: its rules on the values that are easy to get wrong, and every
primitive row of `tests/cases.py` against the numpy backend."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.ir import Builder, TensorType, Value, dims as D, f32, f64, i32
from ddc.ir.reference import evaluate, reference_rules
from tests.backends import run
from tests.cases import CASES

N = D.Sym.name("n")


def graph_of(build, *types):
    b = Builder()
    inputs = [Value(t, f"a{i}") for i, t in enumerate(types)]
    out = build(b, *inputs)
    return ir.verify(b.graph(inputs, [out], "f"))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return (a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


def test_every_primitive_has_a_reference_rule():
    assert set(reference_rules) == set(ir.PRIMITIVES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_reference_agrees_with_the_numpy_backend(case):
    graph = case.graph()
    args = case.args()
    (want,) = evaluate(graph, *args)
    np.testing.assert_allclose(run(graph, *args), want, rtol=1e-13, atol=1e-13)


SPECIAL = np.array([np.nan, -np.inf, -1.5, -0.0, 0.0, 1.5, np.inf])


def test_sign_keeps_signed_zeros_and_nan():
    g = graph_of(lambda b, x: b.bind("sign", x), TensorType(f64, (7,)))
    (got,) = evaluate(g, SPECIAL)
    assert same_bits(got, np.array([np.nan, -1, -1, -0.0, 0.0, 1, 1]))


def test_max_propagates_nan():
    g = graph_of(lambda b, x, y: b.bind("max", x, y), TensorType(f64, (7,)), TensorType(f64, (7,)))
    (got,) = evaluate(g, SPECIAL, np.zeros(7))
    assert np.isnan(got[0]) and got[1] == 0 and got[-1] == np.inf


def test_float_to_int_truncates_saturates_and_maps_nan_to_zero():
    g = graph_of(lambda b, x: b.convert(x, dtype=i32), TensorType(f32, (7,)))
    x = np.array([np.nan, -np.inf, -2.7, 2.7, 3e9, -3e9, np.inf], np.float32)
    (got,) = evaluate(g, x)
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    assert got.tolist() == [0, lo, -2, 2, hi, lo, hi]


def test_a_product_without_contraction_is_each_entry_one_product():
    """Found by the differential fuzzer: einsum added each product to +0, so 0 * -2 was +0
    where numpy's np.multiply.outer (and every other path) makes it -0."""
    t = TensorType(f64, (3,))
    g = graph_of(lambda b, x, y: b.dot_general(x, y, contract=((), ()), batch=((), ())), t, t)
    (got,) = evaluate(g, np.array([0.0, -0.0, 2.0]), np.array([-2.0, 3.0, 1.0]))
    assert same_bits(got, np.multiply.outer([0.0, -0.0, 2.0], [-2.0, 3.0, 1.0]))


def test_int_division_rounds_toward_zero():
    t = TensorType(i32, (4,))
    g = graph_of(lambda b, x, y: b.bind("div", x, y), t, t)
    (got,) = evaluate(g, np.array([7, -7, 7, -7], np.int32), np.array([2, 2, -2, -2], np.int32))
    assert got.tolist() == [3, -3, -3, 3]


def test_reduce_max_of_an_empty_axis_is_minus_inf():
    g = graph_of(lambda b, x: b.bind("reduce_max", x, axes=(0,)), TensorType(f64, (N,)))
    (got,) = evaluate(g, np.zeros(0))
    assert got == -np.inf


def test_gather_outside_the_dim_raises_an_index_error():
    g = graph_of(lambda b, x, i: b.bind("gather", x, i, axis=0, batch_dims=0),
                 TensorType(f64, (N,)), TensorType(i32, (2,)))
    assert evaluate(g, np.arange(3.0), np.array([2, 0], np.int32))[0].tolist() == [2.0, 0.0]
    for bad in ([3, 0], [0, -1]):
        with pytest.raises(ddc.DDIndexError, match="outside"):
            evaluate(g, np.arange(3.0), np.array(bad, np.int32))


def test_scatter_add_outside_the_dim_raises_an_index_error():
    g = graph_of(lambda b, u, i: b.bind("scatter_add", u, i, axis=0, batch_dims=0, shape=(3,)),
                 TensorType(f64, (2,)), TensorType(i32, (2,)))
    assert evaluate(g, np.ones(2), np.array([1, 1], np.int32))[0].tolist() == [0.0, 2.0, 0.0]
    with pytest.raises(ddc.DDIndexError):
        evaluate(g, np.ones(2), np.array([1, 3], np.int32))


def test_batched_gather_picks_one_entry_per_row():
    x = np.arange(12.0).reshape(3, 4)
    g = graph_of(lambda b, x, i: b.bind("gather", x, i, axis=1, batch_dims=1),
                 TensorType(f64, (3, 4)), TensorType(i32, (3,)))
    assert evaluate(g, x, np.array([0, 3, 1], np.int32))[0].tolist() == [0.0, 7.0, 9.0]


def test_a_slice_the_dims_do_not_allow_raises_an_index_error():
    # x[-5] of x: f64[n] is the slice [n-5, n-4): valid only for n >= 5
    g = graph_of(lambda b, x: b.bind("slice", x, start=(N - 5,), limit=(N - 4,), stride=(1,)),
                 TensorType(f64, (N,)))
    assert evaluate(g, np.arange(6.0))[0].tolist() == [1.0]
    with pytest.raises(ddc.DDIndexError):
        evaluate(g, np.arange(3.0))


def test_a_negative_dim_raises_an_index_error():
    g = graph_of(lambda b, x: b.bind("iota", shape=(N - 5,), dimension=0, dtype=i32), TensorType(f64, (N,)))
    with pytest.raises(ddc.DDIndexError):
        evaluate(g, np.arange(3.0))


def test_pad_with_interior_zeros_of_an_empty_dim():
    g = graph_of(lambda b, x: b.bind("pad", x, low=(1,), high=(2,), interior=(1,)), TensorType(f64, (0,)))
    (got,) = evaluate(g, np.zeros(0))
    assert got.tolist() == [0.0, 0.0, 0.0]


def test_logistic_is_finite_everywhere():
    g = graph_of(lambda b, x: b.bind("logistic", x), TensorType(f32, (3,)))
    (got,) = evaluate(g, np.array([-1e4, 0, 1e4], np.float32))
    assert got.tolist() == [0.0, 0.5, 1.0]


def test_a_whole_model_and_its_gradient_match_the_numpy_backend():
    m = ddc.load("examples/mlp.dd")
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in [(3, 8), (8,), (8, 2), (4, 3)]]
    args = [a.astype(np.float32) for a in args] + [np.array([0, 1, 1, 0], np.int32)]
    g = ddc.grad(m.loss, argnums=(0, 1, 2))
    for got, want in zip(g(*args), evaluate(g.graph, *args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [-5, -2, -1, 0, 1, 2, 3, 5, 7, 8, 13, 31])
def test_integer_pow_is_the_backends_multiplication_chain(n):
    g = graph_of(lambda b, x: b.integer_pow(x, y=n), TensorType(f32, (9,)))
    x = np.array([np.nan, -np.inf, -1.7, -0.0, 0.0, 1e-20, 0.9, 3.3, np.inf], np.float32)
    (want,) = evaluate(g, x)
    for backend in ("numpy", "triton"):
        assert same_bits(run(g, x, backend=backend), want), backend
