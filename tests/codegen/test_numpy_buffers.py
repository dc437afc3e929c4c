"""In-place reuse of dying buffers: what is overwritten, what never is, and that values
are unchanged."""
from __future__ import annotations

import numpy as np

from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.ir import f32, f64, i32

from .graphs import make_graph


def T(dtype, *shape):
    return ir.TensorType(dtype, shape)


def body(graph) -> list[str]:
    return [line.strip() for line in compile(graph).source.splitlines() if " = " in line]


def test_a_chain_of_elementwise_ops_runs_in_one_buffer():
    g = make_graph(lambda b, x: b.exp(b.neg(b.mul(x, x))), T(f64, "n"), names=["x"])
    lines = body(g)
    assert "t_3 = x_1 * x_1  # f64[n_2]" in lines  # x is the caller's: never written
    assert "t_4 = np.negative(t_3, out=t_3)  # f64[n_2]" in lines
    assert "t_5 = parallel(np.exp, t_4, out=t_4)  # f64[n_2]" in lines  # n unknown: maybe large
    x = np.array([0.5, -1.0, 2.0])
    before = x.copy()
    np.testing.assert_allclose(compile(g)(x), np.exp(-x * x), rtol=1e-15)
    np.testing.assert_array_equal(x, before)


def test_a_buffer_still_seen_by_a_live_view_is_not_overwritten():
    def build(b, x):
        y = b.exp(x)
        view = b.transpose(y, permutation=(1, 0))
        z = b.tanh(y)  # y dies here, but its transpose is used below
        return b.add(b.transpose(z, permutation=(1, 0)), view)

    g = make_graph(build, T(f64, 2, 3))
    assert not any("np.tanh(" in line and "out=" in line for line in body(g))
    x = np.arange(6.0).reshape(2, 3) / 6
    np.testing.assert_allclose(compile(g)(x), (np.tanh(np.exp(x)) + np.exp(x)).T, rtol=1e-15)


def test_broadcasts_and_outputs_are_never_written():
    def build(b, x, s):
        wide = b.broadcast_in_dim(s, shape=(2, 3), broadcast_dimensions=(1,))
        y = b.exp(x)
        return y, b.mul(b.sub(wide, x), y)

    g = make_graph(build, T(f32, 2, 3), T(f32, 3))
    lines = body(g)
    assert "t_6 = np.multiply(t_5, t_4, out=t_5)  # f32[2,3]" in lines  # t_5 = wide - x is ours
    assert not any("out=t_3" in line or "out=t_4" in line for line in lines)  # wide, y
    x = np.ones((2, 3), np.float32)
    s = np.arange(3, dtype=np.float32)
    y, z = compile(g)(x, s)
    np.testing.assert_allclose(z, (s - x) * np.exp(x), rtol=1e-6)
    np.testing.assert_allclose(y, np.exp(x), rtol=1e-6)


def test_a_dying_input_of_another_type_or_shape_is_not_reused():
    def build(b, x, n):
        total = b.reduce_sum(b.exp(x), axes=(1,))  # exp(x) is (2, 3), the sum (2,)
        as_float = b.convert(n, dtype=f32)
        return b.add(b.log(total), as_float)

    g = make_graph(build, T(f32, 2, 3), T(i32, 2))
    lines = body(g)
    assert "t_3 = np.exp(a0_1)  # f32[2,3]" in lines
    assert not any("out=t_3" in line for line in lines)  # the sum is smaller
    assert not any("out=a1_2" in line for line in lines)  # an argument, and an i32
    assert "t_6 = np.log(t_4, out=t_4)  # f32[2]" in lines
    x = np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(compile(g)(x, np.array([1, 2], np.int32)), np.log(3) + np.array([1, 2]),
                               rtol=1e-6)


def test_integer_division_keeps_its_helper():
    g = make_graph(lambda b, x, y: b.div(b.add(x, y), y), T(i32, 3), T(i32, 3))
    assert any("int_div(" in line for line in body(g))
    out = compile(g)(np.array([-7, 7, 5], np.int32), np.array([2, 2, 5], np.int32))
    np.testing.assert_array_equal(out, [-2, 4, 2])
