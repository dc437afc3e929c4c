"""The generated function checks its arguments before computing anything."""
from __future__ import annotations

import numpy as np
import pytest

from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.codegen.common.runtime import ArgumentError
from ddc.ir import Sym, bool_, f32, f64, i32

from .graphs import make_graph


def T(dtype, *shape):
    return ir.TensorType(dtype, shape)


@pytest.fixture(scope="module")
def mlp():
    """h = x @ W1 + b1, with dims b, d, h bound from the arguments."""
    def build(b, x, W1, b1):
        xw = b.dot_general(x, W1, contract=((1,), (0,)), batch=((), ()))
        return b.add(xw, b.broadcast_in_dim(b1, shape=xw.shape, broadcast_dimensions=(1,)))

    g = make_graph(build, T(f32, "b", "d"), T(f32, "d", "h"), T(f32, "h"), names=["x", "W1", "b1"])
    return compile(g)


def arrays(b=2, d=4, h=3, dtype=np.float32):
    return np.ones((b, d), dtype), np.ones((d, h), dtype), np.ones(h, dtype)


def test_good_arguments(mlp):
    x, W1, b1 = arrays()
    np.testing.assert_array_equal(mlp(x, W1, b1), np.full((2, 3), 5, np.float32))


def test_wrong_float_dtype_says_what_to_cast_to(mlp):
    x, W1, b1 = arrays()
    with pytest.raises(ArgumentError) as e:
        mlp(x, W1.astype(np.float64), b1)
    msg = str(e.value)
    assert "parameter W1" in msg and "f32[d,h]" in msg and "float64" in msg
    assert "dtype=np.float32" in msg


def test_argument_errors_carry_their_fields(mlp):
    """What `ddc.Function` blames a parameter by: fields, not the message's words."""
    x, W1, b1 = arrays()
    with pytest.raises(ArgumentError) as e:
        mlp(x, np.ones((5, 3), np.float32), b1)
    assert (e.value.parameter, e.value.dim, e.value.expected, e.value.got) == ("parameter W1", "d", 4, 5)
    with pytest.raises(ArgumentError) as e:
        mlp(x, W1.astype(np.float64), b1)
    assert (e.value.parameter, e.value.expected, e.value.dim) == ("parameter W1", "f32[d,h]", None)
    with pytest.raises(ArgumentError) as e:
        mlp(x, W1)
    assert e.value.parameter is None


def test_int_array_for_a_float_parameter_is_an_error(mlp):
    x, W1, b1 = arrays()
    with pytest.raises(ArgumentError, match="parameter b1 expects f32.*int64"):
        mlp(x, W1, np.ones(3, np.int64))


def test_numpy_scalars_are_numbers_and_0d_arrays_are_arrays():
    """np.float64(1.5) is a Python float, so it goes where 1.5 goes; a 0-d array keeps its
    dtype like any array."""
    g = make_graph(lambda b, s: b.neg(s), T(f32), names=["s"])
    for s in (np.float64(1.5), np.float32(1.5), np.int64(1), 1.5):
        out = compile(g)(s)
        assert out.dtype == np.float32 and out == -float(s)
    with pytest.raises(ArgumentError, match="parameter s expects f32, got a float64 array"):
        compile(g)(np.array(1.0))
    ints = make_graph(lambda b, s: b.neg(s), T(i32), names=["s"])
    with pytest.raises(ArgumentError, match="parameter s expects i32, got Python values of dtype float64"):
        compile(ints)(np.float64(1.0))


def test_wrong_rank(mlp):
    x, W1, b1 = arrays()
    with pytest.raises(ArgumentError, match=r"parameter x expects 2 dims \(f32\[b,d\]\), got shape \(4,\)"):
        mlp(x[0], W1, b1)


def test_inconsistent_symbolic_dim_names_both_parameters(mlp):
    x, W1, b1 = arrays()
    with pytest.raises(ArgumentError, match="dim d of parameter W1 is 5, but parameter x bound d = 4"):
        mlp(x, np.ones((5, 3), np.float32), b1)
    with pytest.raises(ArgumentError, match="dim h of parameter b1 is 2, but parameter W1 bound h = 3"):
        mlp(x, W1, np.ones(2, np.float32))


def test_wrong_static_dim():
    g = make_graph(lambda b, x: b.neg(x), T(f64, "n", 3), names=["x"])
    with pytest.raises(ArgumentError, match="dim 1 of parameter x is 5, expected 3"):
        compile(g)(np.ones((2, 5)))


def test_compound_dim_checked_once_its_names_are_bound():
    n = Sym.name("n")
    g = make_graph(lambda b, x, y: b.slice(x, start=(1,), limit=(n + 1,), stride=(1,)),
                   T(f64, n + 1), T(f64, "n"), names=["x", "y"])
    np.testing.assert_array_equal(compile(g)(np.arange(4.0), np.zeros(3)), [1, 2, 3])
    with pytest.raises(ArgumentError, match=r"dim 0 of parameter x is 5, expected n\+1 = 4"):
        compile(g)(np.arange(5.0), np.zeros(3))


def test_dim_no_parameter_binds_is_a_dim_parameter():
    """The graph's caller passes it first (as vjp closures do), and the axes it sizes are
    checked against it."""
    g = make_graph(lambda b, x: b.neg(x), T(f64, Sym.name("n") + 1))
    assert g.dim_params() == ("n",)
    f = compile(g)
    np.testing.assert_array_equal(f(2, np.ones(3)), -np.ones(3))
    with pytest.raises(ArgumentError, match=r"dim 0 of .* is 3, expected n\+1 = 4"):
        f(3, np.ones(3))
    with pytest.raises(ArgumentError, match="dim parameter n is 2.0, expected an int >= 0"):
        f(2.0, np.ones(3))


def test_python_scalars_for_scalar_parameters():
    g = make_graph(lambda b, s, k, p: (b.mul(s, s), b.neg(k), p), T(f32), T(i32), T(bool_),
                   names=["s", "k", "p"])
    s2, negk, p = compile(g)(3, 4, True)
    assert s2.dtype == np.float32 and s2 == 9
    assert negk.dtype == np.int32 and negk == -4
    assert p.dtype == np.bool_ and p
    assert compile(g)(0.5, 1, False)[0] == np.float32(0.25)
    with pytest.raises(ArgumentError, match="parameter k expects i32"):
        compile(g)(1.0, 2.5, True)
    with pytest.raises(ArgumentError, match="parameter p expects bool"):
        compile(g)(1.0, 2, 1)
    with pytest.raises(ArgumentError, match="parameter k expects i32.*out of bounds"):
        compile(g)(1.0, 2**40, True)


def test_python_lists_take_the_declared_dtype():
    g = make_graph(lambda b, x: b.reduce_sum(x, axes=(0,)), T(f32, "n", 2), names=["x"])
    got = compile(g)([[1, 2], [3.5, 4]])
    assert got.dtype == np.float32 and list(got) == [4.5, 6]
    with pytest.raises(ArgumentError, match="parameter x expects f32"):
        compile(g)([[1, 2], [3]])
    with pytest.raises(ArgumentError, match="parameter x expects f32"):
        compile(g)("not numbers")


def test_wrong_number_of_arguments(mlp):
    x, W1, _ = arrays()
    with pytest.raises(ArgumentError, match="takes 3 arguments, got 2"):
        mlp(x, W1)


def test_unnamed_parameters_are_numbered():
    g = make_graph(lambda b, x, y: b.add(x, y), T(f64, "n"), T(f64, "n"), names=[None, None])
    with pytest.raises(ArgumentError, match="dim n of argument 1 is 2, but argument 0 bound n = 3"):
        compile(g)(np.ones(3), np.ones(2))


def test_argument_error_is_a_value_error():
    assert issubclass(ArgumentError, ValueError)
