"""Backend-only rewrites: optimisations before codegen, a scatter added in place, large
transcendental ops split across threads. Values never change."""
from __future__ import annotations

import numpy as np

from ddc import ir
from ddc.codegen.numpy import runtime as numpy_runtime
from ddc.codegen.numpy.backend import compile
from ddc.ir import Sym, f32, f64, i32

from .graphs import make_graph

n = Sym.name("n")


def T(dtype, *shape):
    return ir.TensorType(dtype, shape)


def test_a_scatter_added_to_a_dying_array_is_added_in_place():
    def build(b, x, u, idx):
        dense = b.exp(x)
        return b.add(dense, b.scatter_add(u, idx, axis=1, batch_dims=1, shape=(n, 4)))

    g = make_graph(build, T(f64, "n", 4), T(f64, "n", 1), T(i32, "n", 1))
    source = compile(g).source
    assert "add_scatter(t_" in source and "out=t_" in source and "np.zeros" not in source
    assert "scatter_add(" not in source.replace("scatter_add_into(", "")
    rng = np.random.default_rng(0)
    x, u = rng.standard_normal((5, 4)), rng.standard_normal((5, 1))
    idx = np.array([[0], [3], [3], [1], [2]], np.int32)
    want = np.exp(x)
    want[np.arange(5), idx[:, 0]] += u[:, 0]
    np.testing.assert_allclose(compile(g)(x, u, idx), want, rtol=1e-15)


def test_a_scatter_added_to_an_argument_copies_it_first():
    def build(b, x, u, idx):
        return b.add(b.scatter_add(u, idx, axis=0, batch_dims=0, shape=(4,)), x)

    g = make_graph(build, T(f64, 4), T(f64, 3), T(i32, 3))
    x, u, idx = np.zeros(4), np.array([1.0, 2.0, 3.0]), np.array([1, 1, 3], np.int32)
    np.testing.assert_array_equal(compile(g)(x, u, idx), [0, 3, 0, 3])
    np.testing.assert_array_equal(x, 0)  # the caller's array is untouched


def test_large_transcendental_ops_run_in_row_blocks_with_the_same_values():
    g = make_graph(lambda b, x: b.tanh(b.exp(x)), T(f32, "n", "d"))  # too short for row blocks
    source = compile(g).source
    assert "parallel(np.exp, " in source and "parallel(np.tanh, " in source
    rows = numpy_runtime.PARALLEL_MIN_SIZE // 8 + 3  # large enough to split, rows uneven
    x = np.random.default_rng(0).standard_normal((rows, 16)).astype(np.float32)
    np.testing.assert_array_equal(compile(g)(x), np.tanh(np.exp(x)))
    small = make_graph(lambda b, x: b.exp(x), T(f32, 3, 4))
    assert "parallel(" not in compile(small).source  # known to be small: a plain call


def test_parallel_splits_rows_and_fills_out():
    x = np.linspace(-3, 3, numpy_runtime.PARALLEL_MIN_SIZE * 2).reshape(-1, 8)
    out = np.empty_like(x)
    assert numpy_runtime.parallel(np.exp, x, out=out) is out
    np.testing.assert_array_equal(out, np.exp(x))
    np.testing.assert_array_equal(numpy_runtime.parallel(np.log1p, np.abs(x)), np.log1p(np.abs(x)))


def test_float_select_by_bit_masks_matches_where_bit_for_bit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    x[0, :3] = [np.nan, -np.inf, -0.0]
    p = x > 0
    zero, two = np.float32(0), np.float32(2.5)
    for on_true, on_false in [(x, zero), (zero, x), (x, -x), (x[:, :1], x), (two, x), (x, x[:1])]:
        got, want = numpy_runtime.select(p, on_true, on_false), np.where(p, on_true, on_false)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def test_relu_and_its_gradient_select_in_place():
    def build(b, x):
        y = b.exp(x)
        zero = b.full(0.0, y.type)
        return b.select(b.compare(y, b.full(1.0, y.type), direction="gt"), y, zero)

    g = make_graph(build, T(f64, "n"))
    source = compile(g).source
    assert "= select(t_" in source and ", out=t_" in source
    x = np.array([-1.0, 0.0, 0.5, np.nan])
    np.testing.assert_array_equal(compile(g)(x), np.where(np.exp(x) > 1, np.exp(x), 0.0))


def test_gathers_run_early_so_the_array_they_read_can_be_overwritten():
    def build(b, z, labels):
        t = b.neg(z)
        e = b.exp(t)
        picked = b.gather(t, labels, axis=1, batch_dims=1)  # after exp, as written
        return b.add(b.reduce_sum(e, axes=(1,)), picked)

    g = make_graph(build, T(f64, 2, 4), T(i32, 2))  # small: no row blocks
    lines = [line.strip() for line in compile(g).source.splitlines()]
    assert "t_4 = gather(t_3, a1_2, axis=1, batch_dims=1)  # f64[2]" in lines
    assert "t_5 = np.exp(t_3, out=t_3)  # f64[2,4]" in lines
    z, labels = np.arange(8.0).reshape(2, 4) / 8, np.array([1, 3], np.int32)
    np.testing.assert_allclose(compile(g)(z, labels), np.exp(-z).sum(1) - z[[0, 1], labels], rtol=1e-15)


def test_a_relu_select_is_one_fmax_with_the_select_s_values():
    def build(b, x):
        y = b.exp(x)
        zero = b.full(1.0, y.type)
        return b.select(b.compare(y, zero, direction="gt"), y, zero)

    g = make_graph(build, T(f64, 5))
    lines = [line.strip() for line in compile(g).source.splitlines()]
    assert "t_5 = np.fmax(t_3, t_4, out=t_3)  # f64[5]" in lines, lines
    assert not any(" > " in line for line in lines)  # the compare is gone
    x = np.array([-1.0, 0.0, 0.5, np.nan, -np.inf])
    np.testing.assert_array_equal(compile(g)(x), np.where(np.exp(x) > 1, np.exp(x), 1.0))


def test_a_relu_of_unknown_size_takes_its_scalar_as_an_array():
    """numpy's max loops have no vector path for a scalar operand; `with_scalar` gives the
    scalar as a cached array, same values (nan included) in either operand order. The
    relu, `select(x <= 0, 0, x)`, is one np.maximum (through with_scalar) and an add of
    +0.0: NaN stays NaN, every zero is +0.0, at every position of a large array."""
    def build(b, x):
        zero = b.full(0.0, x.type)
        return b.select(b.compare(x, zero, direction="le"), zero, x), b.min(zero, b.neg(x))

    g = make_graph(build, T(f32, "n", 3))
    source = compile(g).source
    assert "relu(" in source and "with_scalar(np.minimum, " in source
    rng = np.random.default_rng(1)
    for rows in (5, 40_000):  # below SCALAR_MIN_SIZE, one chunk, several chunks
        x = rng.standard_normal((rows, 3)).astype(np.float32)
        x[0] = [np.nan, -0.0, np.inf]
        x[rows // 2:] = -0.0
        relu, low = compile(g)(x)
        want = np.where(x <= 0, np.float32(0), x)
        np.testing.assert_array_equal(relu, want)
        assert not np.signbit(relu).any()
        np.testing.assert_array_equal(low, np.minimum(np.float32(0), -x))


def test_with_scalar_matches_the_ufunc_on_any_layout():
    rng = np.random.default_rng(2)
    big = rng.standard_normal(7 * (numpy_runtime.SCALAR_CHUNK // 2 + 1))
    cases = [(big, np.float64(0.25)), (np.float64(0.25), big), (big[::2], np.float64(0.0)),
             (big.reshape(-1, 7)[:, 1:], np.float64(-1.0)), (big, np.float64(np.nan)),
             (big[:100], np.float64(1.0)), (np.float64(1.0), np.float64(2.0))]
    for ufunc in (np.maximum, np.fmin):
        for x, y in cases:
            want = ufunc(x, y)
            np.testing.assert_array_equal(numpy_runtime.with_scalar(ufunc, x, y), want)
            if np.ndim(want):
                out = np.empty_like(want)
                assert numpy_runtime.with_scalar(ufunc, x, y, out=out) is out
                np.testing.assert_array_equal(out, want)


def test_with_scalar_keeps_signed_zeros_apart():
    x = np.zeros(2 * numpy_runtime.SCALAR_MIN_SIZE, np.float32)
    x[::2] = -0.0
    for zero in (np.float32(0.0), np.float32(-0.0), np.float32(0.0)):  # cached, then not reused
        got = numpy_runtime.with_scalar(np.maximum, x, zero)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(np.maximum(x, zero)))
