"""Rewrites are exact for every input: each pattern that used to change a number, on the
input that tells it apart, on the numpy backend (all its rewrites), its debug_nans
variant where no NaN is made, and Triton, against the reference evaluator."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.codegen import compile_graph
from ddc.ir import Builder, Sym, TensorType, Value, f32, f64, i32
from ddc.ir.reference import evaluate
from ddc.passes.dce import dce
from ddc.passes.simplify import simplify
from tests.backends import GPU_ULPS, interpreted, mismatches, same_bits, to_numpy

N = Sym.name("n")

SOURCE = """
def select_max(x: f32[n], y: f32[n]) -> f32[n]:
    return where(x > y, x, y)

def clamp_one(x: f32[n]) -> f32[n]:
    return where(x > 1.0, x, 1.0)

def relu_of(x: f32[n]) -> f32[n]:
    return relu(x)

def inverse_relu(x: f32[n]) -> f32[n]:
    return 1.0 / relu(x)

def relu_sum(x: f32[n]) -> f32:
    return sum(relu(x))

def sum_of_ones(s: f32, x: f32[n]) -> f32:
    return sum(s * ones(n))

def zero_minus(x: f32[n]) -> f32[n]:
    return 0.0 - x

def plus_zero(x: f32[n]) -> f32[n]:
    return x + 0.0

def times_zero(x: f32[n]) -> f32[n]:
    return x * 0.0

def minus_itself(x: f32[n]) -> f32[n]:
    return x - x

def negated_sum(x: f32[n]) -> f32:
    return sum(-x)

def sign_of(x: f32[n]) -> f32[n]:
    return sign(x)

def root(x: f32[n]) -> f32[n]:
    return x ** 0.5  # pow(-0.0, 0.5) is +0.0 and pow(-inf, 0.5) inf, unlike sqrt

def nan_to_int() -> i32:
    return astype(0.0 / 0.0, i32)

def big_to_int_plus_one(x: i32[n]) -> i32[n]:
    return x + (astype(1e10, i32) + 1)

def small_to_int() -> i32:
    return astype(-1e10, i32)

def to_int(x: f32[n]) -> i32[n]:
    return astype(x, i32)

def to_int_plus_one(x: f32[n]) -> i32[n]:
    return astype(x, i32) + 1
"""

M = ddc.loads(SOURCE)


def check_everywhere(fn, *args, debug=True, triton_sums=False):
    """`fn` on numpy, Triton and (when `debug`) debug_nans gives the reference's bits;
    `triton_sums`: Triton's sum adds in another order, so only to rounding there."""
    (want,) = evaluate(fn.graph, *args)
    assert same_bits(fn(*args), want), (fn(*args), want)
    on_triton = ddc.jit(fn, backend="triton")(*args)
    if triton_sums:
        np.testing.assert_allclose(to_numpy(on_triton), want, rtol=1e-6)
    else:
        assert not mismatches(on_triton, want, 0 if interpreted() else GPU_ULPS)
    if debug:
        with ddc.config(debug_nans=True):
            assert same_bits(fn(*args), want)
    return want


F = np.float32
SPECIAL = np.array([np.nan, -np.inf, -1.5, -0.0, 0.0, 1.5, np.inf], F)


def test_select_of_the_larger_keeps_a_nan_in_either_operand():
    x = np.array([1.0, np.nan, 2.0, -0.0, 0.0], F)
    y = np.array([np.nan, 1.0, 2.0, 0.0, -0.0], F)
    want = check_everywhere(M.select_max, x, y, debug=False)
    assert np.isnan(want[0]) and want[1] == 1.0  # NaN in y is the select's answer
    assert "fmax" not in M.select_max.source


def test_a_clamp_at_a_nonzero_constant_is_still_one_fmax():
    x = np.concatenate([SPECIAL, np.full(5000, -0.0, F)])
    want = check_everywhere(M.clamp_one, x, debug=False)
    assert "np.fmax" in M.clamp_one.source and want[0] == 1.0


@pytest.mark.parametrize("size", [7, 5000, 70_000])
def test_relu_is_nan_at_nan_and_plus_zero_at_either_zero_at_every_position(size):
    x = np.full(size, -0.0, F)
    x[::3] = 0.0
    x[1] = np.nan
    x[2], x[-1] = 2.5, -3.0
    want = check_everywhere(M.relu_of, x, debug=False)
    assert np.isnan(want[1]) and not np.signbit(want[~np.isnan(want)]).any()
    inverse = M.inverse_relu(np.delete(x, 1))
    assert (inverse[np.delete(x, 1) <= 0] == np.inf).all()  # never -inf, at any position
    assert "relu(" in M.relu_of.source


def test_relu_derivative_at_zero_is_zero():
    g = ddc.grad(M.relu_sum)
    x = np.array([-1.0, -0.0, 0.0, 2.0], F)
    assert g(x).tolist() == [0.0, 0.0, 0.0, 1.0]


def test_a_sum_of_a_broadcast_is_not_a_product_by_its_count():
    # a number whose sum of six copies is not six times it, as for most numbers
    s = next(v for v in np.linspace(0.01, 1, 100, dtype=F) if np.add.reduce(np.full(6, v)) != v * 6)
    for n in (0, 1, 2, 3, 6, 9):
        check_everywhere(M.sum_of_ones, s, np.zeros(n, F), triton_sums=True)
    assert check_everywhere(M.sum_of_ones, F(np.inf), np.zeros(0, F), debug=False) == 0.0
    assert not np.signbit(check_everywhere(M.sum_of_ones, F(-0.0), np.zeros(1, F)))


@pytest.mark.parametrize("fn", ["zero_minus", "plus_zero", "times_zero", "minus_itself", "negated_sum",
                                "sign_of", "root"])
def test_arithmetic_identities_that_do_not_hold_at_special_values_are_not_applied(fn):
    x = np.array([np.nan, -np.inf, -2.25, -0.0, 0.0, 2.25, np.inf], F)  # 2.25 has an exact root
    check_everywhere(getattr(M, fn), x, debug=False)


@pytest.mark.parametrize("x", [[0.0, 0.0], [0.0, -0.0], []])
def test_a_sum_of_negations_is_not_a_negated_sum(x):
    """sum(-x) adds -0.0s to +0.0 and is +0.0; -sum(x) is -0.0."""
    assert not np.signbit(check_everywhere(M.negated_sum, np.array(x, F)))


def test_the_identities_that_are_exact_are_applied():
    b = Builder()
    x = Value(TensorType(f64, (N,)), "x")
    minus_zero, one = b.full(-0.0, x.type), b.full(1.0, x.type)
    out = b.neg(b.neg(b.div(b.mul(b.sub(b.add(x, minus_zero), b.zeros(x.type)), one), one)))
    g = dce(simplify(ir.verify(b.graph([x], [out], "f"))))
    assert not [n for n in g.nodes if n.prim.name not in ("constant", "broadcast_in_dim")], str(g)


def test_float_to_int_folds_and_runs_truncating_saturating_with_nan_as_zero():
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    assert M.nan_to_int() == 0 and M.small_to_int() == lo
    assert M.big_to_int_plus_one(np.zeros(2, np.int32)).tolist() == [lo, lo]  # hi + 1 wraps
    x = np.array([np.nan, 1e10, -1e10, 2.7, -2.7, np.inf, -np.inf, 2147483648.0, -0.0], F)
    want = [0, hi, lo, 2, -2, hi, lo, hi, 0]
    assert check_everywhere(M.to_int, x, debug=False).tolist() == want
    assert check_everywhere(M.to_int_plus_one, x, debug=False).tolist() == [w + 1 if w != hi else lo for w in want]


def _folded(build, dtype):
    """The constant `build` folds to, and what the unfolded numpy graph computes."""
    b = Builder()
    x = Value(TensorType(dtype, ()), "x")
    out = build(b, x)
    g = ir.verify(b.graph([x], [out], "f"))
    folded = dce(simplify(g))
    assert [n.prim.name for n in folded.nodes] == ["constant"], str(folded)
    return folded.nodes[0].params["value"], evaluate(g, np.zeros((), dtype.np))[0]


def test_folding_rounds_at_the_node_dtype_and_wraps_ints():
    # (2**24 + 1) - 2**24 is 0 in f32 (and 1 in Python floats)
    value, want = _folded(lambda b, x: b.sub(b.add(b.scalar(16777216.0, f32), b.scalar(1.0, f32)),
                                             b.scalar(16777216.0, f32)), f32)
    assert value == want == 0.0
    value, want = _folded(lambda b, x: b.add(b.scalar(2**31 - 1, i32), b.scalar(1, i32)), i32)
    assert value == want == -2**31
    value, want = _folded(lambda b, x: b.bind("sign", b.scalar(-0.0, f64)), f64)
    assert value == 0.0 and np.signbit(value) and np.signbit(want)
    value, want = _folded(lambda b, x: b.convert(b.div(b.scalar(0.0, f32), b.scalar(0.0, f32)), dtype=i32), i32)
    assert value == want == 0


def test_integer_division_by_zero_folds_to_what_the_runtime_gives():
    b = Builder()
    x = Value(TensorType(i32, ()), "x")
    g = ir.verify(b.graph([x], [b.div(b.scalar(7, i32), b.scalar(0, i32))], "f"))
    assert "div" not in [n.prim.name for n in simplify(g).nodes]
    unfolded = ir.verify(b.graph([x], [b.div(b.scalar(7, i32), x)], "f"))
    assert compile_graph(g)(np.int32(0)) == compile_graph(unfolded)(np.int32(0)) == evaluate(g, np.int32(0))[0] == 0


def _add_of_scatter(idx_type, shape):
    b = Builder()
    x, u, idx = Value(TensorType(f64, shape), "x"), Value(TensorType(f64, idx_type.shape), "u"), Value(idx_type, "i")
    total = b.add(x, b.scatter_add(u, idx, axis=len(shape) - 1, batch_dims=len(shape) - 1, shape=shape))
    return ir.verify(b.graph([x, u, idx], [total], "f"))


def test_an_add_of_a_scatter_keeps_the_zeros_signs_and_the_order_of_its_sums():
    # one update per row: fused into `x + 0.0` and np.add.at, the same numbers
    g = _add_of_scatter(TensorType(i32, (3,)), (3, 2))
    x = np.array([[-0.0, -0.0], [-0.0, 1.0], [np.nan, -0.0]])
    u, idx = np.array([-0.0, 2.0, -0.0]), np.array([0, 1, 1], np.int32)
    source = compile_graph(g).source
    assert "add_scatter(" in source
    assert same_bits(compile_graph(g)(x, u, idx), evaluate(g, x, u, idx)[0])
    # updates that may share a place are summed first, as written: (x + u) + v is not x + (u + v)
    g = _add_of_scatter(TensorType(i32, (1, 2)), (1, 1))
    x, u, idx = np.array([[1.0]]), np.array([[2.0**-53, 2.0**-53]]), np.array([[0, 0]], np.int32)
    want = evaluate(g, x, u, idx)[0]
    assert want[0, 0] == 1.0 + 2.0**-52 and same_bits(compile_graph(g)(x, u, idx), want)
