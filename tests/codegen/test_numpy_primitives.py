"""Every primitive through the numpy backend, against hand-written numpy.

One row per use of a primitive: argument specs (dtype `F` is the float dtype under test,
run for f32 and f64), the graph, and the numpy it must agree with. Dims named `n` and `m`
are symbolic in the graph and bound when the compiled function is called.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from ddc import IRError, ir
from ddc.codegen.numpy.backend import compile
from ddc.codegen.numpy.rules import numpy_rules
from ddc.ir import Sym, bool_, f32, f64, i32, i64

from .graphs import assert_output, make_graph, run

SIZES = {"n": 4, "m": 2}
F = "F"  # stands for the float dtype under test


@dataclass(frozen=True)
class Arg:
    shape: tuple
    dtype: object = F
    kind: str = "normal"  # normal, positive, grid, int, nonzero, bool, or index:<bound>


@dataclass(frozen=True)
class Row:
    name: str
    args: tuple[Arg, ...]
    build: Callable
    ref: Callable

    @property
    def uses_float(self) -> bool:
        return any(a.dtype == F for a in self.args)


def _values(arg: Arg, dtype, rng):
    shape = tuple(SIZES.get(d, d) for d in arg.shape)
    kind, _, bound = arg.kind.partition(":")
    if kind == "normal":
        x = rng.standard_normal(shape)
    elif kind == "positive":
        x = rng.uniform(0.5, 2.0, shape)
    elif kind == "grid":  # coarse values, so comparisons see ties
        x = rng.integers(-2, 3, shape) / 2
    elif kind == "int":
        x = rng.integers(-7, 8, shape)
    elif kind == "nonzero":
        x = rng.integers(1, 5, shape) * rng.choice([-1, 1], shape)
    elif kind == "bool":
        x = rng.random(shape) < 0.5
    else:
        x = rng.integers(0, int(bound), shape)
    return np.asarray(x).astype(dtype.np)


def rows_unary():
    fns = {"exp": np.exp, "tanh": np.tanh, "sin": np.sin, "cos": np.cos, "neg": np.negative,
           "abs": np.abs, "sign": np.sign, "logistic": lambda x: 1 / (1 + np.exp(-x)),
           "erf": lambda x: np.vectorize(math.erf, otypes=[x.dtype])(x)}
    rows = [Row(n, (Arg(("n", 3)),), lambda b, x, n=n: b.bind(n, x), fn) for n, fn in fns.items()]
    for n, fn in {"log": np.log, "log1p": np.log1p, "sqrt": np.sqrt}.items():
        rows.append(Row(n, (Arg(("n", 3), kind="positive"),), lambda b, x, n=n: b.bind(n, x), fn))
    for n, fn in {"neg": np.negative, "abs": np.abs, "sign": np.sign}.items():
        for dt in (i32, i64):
            rows.append(Row(f"{n}_{dt}", (Arg(("n",), dt, "int"),), lambda b, x, n=n: b.bind(n, x), fn))
    return rows


def rows_binary():
    fns = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "max": np.maximum, "min": np.minimum}
    xy = (Arg(("n", 3)), Arg(("n", 3)))
    rows = [Row(n, xy, lambda b, x, y, n=n: b.bind(n, x, y), fn) for n, fn in fns.items()]
    rows.append(Row("pow", (Arg(("n", 3), kind="positive"), Arg(("n", 3))),
                    lambda b, x, y: b.pow(x, y), np.power))
    chains = {0: np.ones_like, 1: lambda x: x, 2: lambda x: x * x, 3: lambda x: x * (x * x),
              6: lambda x: (x * x) * ((x * x) * (x * x)), -1: lambda x: 1 / x, -3: lambda x: 1 / (x * (x * x))}
    for n, fn in chains.items():
        rows.append(Row(f"integer_pow_{n}", (Arg(("n", 3), kind="positive" if n < 0 else "normal"),),
                        lambda b, x, n=n: b.integer_pow(x, y=n), fn))
    ints = (Arg(("n", 3), i32, "int"), Arg(("n", 3), i32, "int"))
    for n in ("add", "sub", "mul", "max", "min"):
        rows.append(Row(f"{n}_i32", ints, lambda b, x, y, n=n: b.bind(n, x, y), fns[n]))
    rows.append(Row("div_rounds_toward_zero", (Arg((3, 5), i64, "int"), Arg((3, 5), i64, "nonzero")),
                    lambda b, x, y: b.div(x, y), lambda x, y: np.trunc(x / y)))
    return rows


def rows_compare_select():
    ops = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
           "eq": np.equal, "ne": np.not_equal}
    rows = []
    for direction, fn in ops.items():
        rows.append(Row(f"compare_{direction}", (Arg(("n", 3), kind="grid"), Arg(("n", 3), kind="grid")),
                        lambda b, x, y, d=direction: b.compare(x, y, direction=d), fn))
        rows.append(Row(f"compare_{direction}_i32", (Arg((5,), i32, "int"), Arg((5,), i32, "int")),
                        lambda b, x, y, d=direction: b.compare(x, y, direction=d), fn))
    rows.append(Row("select", (Arg(("n", 3), bool_, "bool"), Arg(("n", 3)), Arg(("n", 3))),
                    lambda b, p, x, y: b.select(p, x, y), np.where))
    return rows


def rows_convert():
    rows = []
    for target in (f32, f64, i32, bool_):
        rows.append(Row(f"convert_to_{target}", (Arg(("n", 3), kind="grid"),),
                        lambda b, x, t=target: b.convert(x, dtype=t), lambda x, t=target: x.astype(t.np)))
    rows.append(Row("convert_from_i32", (Arg(("n",), i32, "int"), Arg(("n",))),
                    lambda b, k, x: b.add(b.convert(k, dtype=x.dtype), x), lambda k, x: k.astype(x.dtype) + x))
    rows.append(Row("stop_gradient", (Arg(("n", 3)),), lambda b, x: b.stop_gradient(x), lambda x: x))
    return rows


def rows_structural():
    n, m = Sym.name("n"), Sym.name("m")
    return [
        Row("broadcast_trailing", (Arg((3,)), Arg(("n", 3))),
            lambda b, x, y: b.broadcast_in_dim(x, shape=y.shape, broadcast_dimensions=(1,)),
            lambda x, y: np.broadcast_to(x, y.shape)),
        Row("broadcast_leading", (Arg(("n",)), Arg(("m",))),
            lambda b, x, y: b.broadcast_in_dim(x, shape=(n, 3, m), broadcast_dimensions=(0,)),
            lambda x, y: np.broadcast_to(x[:, None, None], (len(x), 3, len(y)))),
        Row("broadcast_middle_and_stretch", (Arg(("n", 1)),),
            lambda b, x: b.broadcast_in_dim(x, shape=(2, n, 5), broadcast_dimensions=(1, 2)),
            lambda x: np.broadcast_to(x, (2, x.shape[0], 5))),
        Row("broadcast_scalar", (Arg(()), Arg(("n",))),
            lambda b, x, y: b.broadcast_in_dim(x, shape=(n, 2), broadcast_dimensions=()),
            lambda x, y: np.full((len(y), 2), x)),
        Row("reshape_split", (Arg(("n", 6)),),
            lambda b, x: b.reshape(x, shape=(n, 2, 3)), lambda x: x.reshape(-1, 2, 3)),
        Row("reshape_merge_symbolic", (Arg(("n", 6)),),
            lambda b, x: b.reshape(x, shape=(6 * n,)), lambda x: x.reshape(-1)),
        Row("reshape_to_scalar", (Arg((1, 1)),), lambda b, x: b.reshape(x, shape=()), lambda x: x.reshape(())),
        Row("transpose_2d", (Arg(("n", 3)),),
            lambda b, x: b.transpose(x, permutation=(1, 0)), lambda x: x.T),
        Row("transpose_3d", (Arg(("n", 3, 2)),),
            lambda b, x: b.transpose(x, permutation=(2, 0, 1)), lambda x: x.transpose(2, 0, 1)),
        Row("reduce_sum_one", (Arg(("n", 3)),), lambda b, x: b.reduce_sum(x, axes=(1,)), lambda x: x.sum(1)),
        Row("reduce_sum_two", (Arg(("n", 3, 2)),),
            lambda b, x: b.reduce_sum(x, axes=(0, 2)), lambda x: x.sum((0, 2))),
        Row("reduce_sum_all", (Arg(("n", 3)),), lambda b, x: b.reduce_sum(x, axes=(0, 1)), np.sum),
        Row("reduce_sum_none", (Arg(("n", 3)),), lambda b, x: b.reduce_sum(x, axes=()), lambda x: x),
        Row("reduce_sum_i32_keeps_dtype", (Arg(("n", 3), i32, "int"),),
            lambda b, x: b.reduce_sum(x, axes=(0,)), lambda x: x.sum(0)),
        Row("reduce_max", (Arg(("n", 3)),), lambda b, x: b.reduce_max(x, axes=(0,)), lambda x: x.max(0)),
        Row("reduce_max_empty_axis", (Arg((0, 3)),),
            lambda b, x: b.reduce_max(x, axes=(0,)), lambda x: np.full(3, -np.inf)),
        Row("reduce_max_i64", (Arg(("n", 3), i64, "int"),),
            lambda b, x: b.reduce_max(x, axes=(0, 1)), np.max),
        Row("reduce_max_bool", (Arg(("n", 3), bool_, "bool"),),
            lambda b, x: b.reduce_max(x, axes=(1,)), lambda x: x.any(1)),
        Row("slice_strided", (Arg((7, "n")),),
            lambda b, x: b.slice(x, start=(1, 0), limit=(6, n), stride=(2, 1)), lambda x: x[1:6:2]),
        Row("slice_symbolic", (Arg(("n", 3)),),
            lambda b, x: b.slice(x, start=(1, 0), limit=(n, 2), stride=(1, 1)), lambda x: x[1:, :2]),
        Row("slice_last_symbolic", (Arg(("n",)),),
            lambda b, x: b.slice(x, start=(n - 1,), limit=(n,), stride=(1,)), lambda x: x[-1:]),
        Row("slice_empty", (Arg((5,)),),
            lambda b, x: b.slice(x, start=(2,), limit=(2,), stride=(3,)), lambda x: x[2:2]),
        Row("pad_edges", (Arg(("n", 3)),),
            lambda b, x: b.pad(x, low=(1, 0), high=(0, 2), interior=(0, 0)),
            lambda x: np.pad(x, ((1, 0), (0, 2)))),
        Row("pad_interior", (Arg((3, 2)),),
            lambda b, x: b.pad(x, low=(1, 0), high=(2, 1), interior=(1, 0)), _pad_interior_ref),
        Row("pad_negative_crops", (Arg((4, 3)),),
            lambda b, x: b.pad(x, low=(-1, 2), high=(0, -1), interior=(0, 0)),
            lambda x: np.pad(x, ((0, 0), (2, 0)))[1:, :-1]),
        Row("pad_scalar", (Arg(()),), lambda b, x: b.pad(x, low=(), high=(), interior=()), lambda x: x),
        Row("concatenate_two", (Arg(("n", 3)), Arg(("n", 2))),
            lambda b, x, y: b.concatenate(x, y, axis=1), lambda x, y: np.concatenate([x, y], 1)),
        Row("concatenate_symbolic", (Arg(("n", 3)), Arg(("m", 3)), Arg((1, 3))),
            lambda b, x, y, z: b.concatenate(x, y, z, axis=0), lambda *xs: np.concatenate(xs, 0)),
        Row("concatenate_one", (Arg(("n",)),),
            lambda b, x: b.concatenate(x, axis=0), lambda x: x),
    ]


def _pad_interior_ref(x):
    out = np.zeros((3 + 2 + 3, 2 + 1), x.dtype)
    out[1:6:2, :2] = x
    return out


def _dot(lhs: Arg, rhs: Arg, contract, batch, spec: str, name: str) -> Row:
    return Row(name, (lhs, rhs),
               lambda b, x, y: b.dot_general(x, y, contract=contract, batch=batch),
               lambda x, y: np.einsum(spec, x.astype(np.float64), y.astype(np.float64)))


def rows_dot_general():
    none = ((), ())
    return [
        _dot(Arg(("n", 3)), Arg((3, "m")), ((1,), (0,)), none, "ik,kj->ij", "matmul"),
        _dot(Arg((3, "n")), Arg((3, "m")), ((0,), (0,)), none, "ki,kj->ij", "matmul_lhs_t"),
        _dot(Arg(("n", 3)), Arg(("m", 3)), ((1,), (1,)), none, "ik,jk->ij", "matmul_rhs_t"),
        _dot(Arg((3, "n")), Arg(("m", 3)), ((0,), (1,)), none, "ki,jk->ij", "matmul_both_t"),
        _dot(Arg(("n", 3)), Arg((3,)), ((1,), (0,)), none, "ik,k->i", "matvec"),
        _dot(Arg((3,)), Arg(("m", 3)), ((0,), (1,)), none, "k,jk->j", "vecmat_t"),
        _dot(Arg(("n",)), Arg(("n",)), ((0,), (0,)), none, "k,k->", "vecvec"),
        _dot(Arg(("n",)), Arg((3,)), ((), ()), none, "i,j->ij", "outer"),
        _dot(Arg(("n", 2, 3)), Arg((3, 5)), ((2,), (0,)), none, "abk,kj->abj", "tensordot_3d"),
        _dot(Arg((2, 3, "n")), Arg((3, 2, 4)), ((0, 1), (1, 0)), none, "abi,baj->ij", "two_contractions"),
        _dot(Arg(("n", 2, 3)), Arg(("n", 3, 4)), ((2,), (1,)), ((0,), (0,)), "bik,bkj->bij", "batched_matmul"),
        _dot(Arg((2, "n", 3)), Arg((3, 4, "n")), ((2,), (0,)), ((1,), (2,)), "ibk,kjb->bij", "batch_not_leading"),
        _dot(Arg(("n", 3)), Arg(("n", 3)), ((1,), (1,)), ((0,), (0,)), "bk,bk->b", "batched_vecvec"),
        _dot(Arg(("n", 2, 3, 4)), Arg((3, "n", 4, 5)), ((2, 3), (0, 2)), ((0,), (1,)),
             "bikl,kblj->bij", "batch_and_two_contractions"),
        _dot(Arg((2, "n", 3, "m")), Arg(("m", 3, 2)), ((2,), (1,)), ((0, 3), (2, 0)),
             "aikb,bka->abi", "two_batch_dims"),
        _dot(Arg((3, 4), i32, "int"), Arg((4, 2), i32, "int"), ((1,), (0,)), none, "ik,kj->ij", "matmul_i32"),
    ]


def rows_indexing():
    n = Sym.name("n")
    return [
        Row("gather_axis0", (Arg(("n", 3)), Arg((5,), i32, "index:4")),
            lambda b, x, i: b.gather(x, i, axis=0, batch_dims=0), lambda x, i: x[i]),
        Row("gather_axis1_2d_index", (Arg(("n", 3)), Arg((2, 5), i64, "index:3")),
            lambda b, x, i: b.gather(x, i, axis=1, batch_dims=0), lambda x, i: np.take(x, i, axis=1)),
        Row("gather_scalar_index", (Arg(("n", 3)), Arg((), i32, "index:3")),
            lambda b, x, i: b.gather(x, i, axis=1, batch_dims=0), lambda x, i: x[:, i]),
        Row("gather_per_row", (Arg(("n", 3)), Arg(("n",), i32, "index:3")),
            lambda b, x, i: b.gather(x, i, axis=1, batch_dims=1),
            lambda x, i: np.array([x[k, i[k]] for k in range(len(i))])),
        Row("gather_batched_middle_dim", (Arg(("n", 2, 3, 5)), Arg(("n", 4), i32, "index:3")),
            lambda b, x, i: b.gather(x, i, axis=2, batch_dims=1),
            lambda x, i: np.stack([np.take(x[k], i[k], axis=1) for k in range(len(i))])),
        Row("scatter_add_axis0", (Arg((5, 3)), Arg((5,), i32, "index:2")),
            lambda b, u, i: b.scatter_add(u, i, axis=0, batch_dims=0, shape=(2, 3)),
            lambda u, i: _scatter_loop(u, i, (2, 3), 0)),
        Row("scatter_add_axis1", (Arg(("n", 2, 4)), Arg((2, 4), i32, "index:3")),
            lambda b, u, i: b.scatter_add(u, i, axis=1, batch_dims=0, shape=(n, 3)),
            lambda u, i: _scatter_loop(u, i, (u.shape[0], 3), 1)),
        Row("scatter_add_per_row", (Arg(("n",)), Arg(("n",), i32, "index:3")),
            lambda b, u, i: b.scatter_add(u, i, axis=1, batch_dims=1, shape=(n, 3)),
            lambda u, i: _scatter_rows(u, i, 3)),
        Row("scatter_add_batched_middle_dim", (Arg(("n", 2, 6, 5)), Arg(("n", 6), i32, "index:3")),
            lambda b, u, i: b.scatter_add(u, i, axis=2, batch_dims=1, shape=(n, 2, 3, 5)),
            lambda u, i: np.stack([_scatter_loop(u[k], i[k], (2, 3, 5), 1) for k in range(len(i))])),
    ]


def _scatter_loop(u, idx, shape, axis):
    """Zeros of `shape`; each slice of `u` along the idx dims is added at index idx[...]."""
    out = np.zeros(shape, u.dtype)
    for pos in np.ndindex(*np.shape(idx)):
        dst = (slice(None),) * axis + (idx[pos],)
        src = (slice(None),) * axis + pos
        out[dst] += u[src]
    return out


def _scatter_rows(u, idx, width):
    out = np.zeros((len(u), width), u.dtype)
    for k in range(len(u)):
        out[k, idx[k]] += u[k]
    return out


ROWS = [*rows_unary(), *rows_binary(), *rows_compare_select(), *rows_convert(),
        *rows_structural(), *rows_dot_general(), *rows_indexing()]
PARAMS = [pytest.param(row, dt, id=f"{row.name}-{dt}")
          for row in ROWS for dt in ((f32, f64) if row.uses_float else (f64,))]


@pytest.mark.parametrize("row, float_dtype", PARAMS)
def test_primitive_matches_numpy(row: Row, float_dtype):
    dtypes = [float_dtype if a.dtype == F else a.dtype for a in row.args]
    g = make_graph(row.build, *(ir.TensorType(dt, a.shape) for dt, a in zip(dtypes, row.args)))
    rng = np.random.default_rng(0)
    args = [_values(a, dt, rng) for a, dt in zip(row.args, dtypes)]
    assert_output(run(g, *args), g.outputs[0], row.ref(*args), SIZES)


def test_dims_bind_per_call():
    g = make_graph(lambda b, x: b.reduce_sum(x, axes=(1,)), ir.TensorType(f64, ("n", "m")))
    for shape in [(1, 1), (3, 5), (0, 2)]:
        x = np.ones(shape)
        assert_output(run(g, x), g.outputs[0], x.sum(1), dict(zip("nm", shape)))


def test_elementwise_users_broadcast_for_themselves():
    """A broadcast feeding only elementwise ops next to a full-shaped operand stays a view
    that numpy broadcasts; one feeding anything else is materialised."""
    n = Sym.name("n")

    def build(b, x, bias, s):
        shift = b.add(x, b.broadcast_in_dim(bias, shape=x.shape, broadcast_dimensions=(1,)))
        scale = b.broadcast_in_dim(s, shape=x.shape, broadcast_dimensions=())
        relu = b.max(b.mul(shift, scale), b.broadcast_in_dim(b.constant(value=0.0, dtype=f64),
                                                             shape=x.shape, broadcast_dimensions=()))
        wide = b.broadcast_in_dim(bias, shape=(n, 3), broadcast_dimensions=(1,))
        return relu, b.reduce_sum(wide, axes=(0,)), b.neg(scale)

    g = make_graph(build, ir.TensorType(f64, ("n", 3, "m")), ir.TensorType(f64, (3,)), ir.TensorType(f64, ()))
    x, bias, s = np.random.default_rng(0).standard_normal((4, 3, 2)), np.arange(3.0), np.float64(-1.5)
    relu, sums, negs = run(g, x, bias, s)
    assert_output(relu, g.outputs[0], np.maximum((x + bias[:, None]) * s, 0), SIZES)
    assert_output(sums, g.outputs[1], 4 * bias, SIZES)
    assert_output(negs, g.outputs[2], np.full((4, 3, 2), 1.5), SIZES)
    function = compile(g).source.rsplit("\ndef ", 1)[-1]  # the function, after any row blocks
    # only the returned `-scale` (simplify turned it into a broadcast of the negated
    # scalar) and the summed `wide` are materialised
    assert function.count(" broadcast(") == 2


@pytest.mark.parametrize("dtype", [f32, f64])
def test_iota(dtype):
    n = Sym.name("n")

    def build(b, x):
        return (b.iota(shape=(n,), dimension=0, dtype=dtype),
                b.iota(shape=(n, 3), dimension=1, dtype=i32),
                b.iota(shape=(2, n, 3), dimension=1, dtype=i64))

    g = make_graph(build, ir.TensorType(dtype, ("n",)))
    got = run(g, np.zeros(4, dtype.np))
    assert_output(got[0], g.outputs[0], np.arange(4), SIZES)
    assert_output(got[1], g.outputs[1], np.broadcast_to(np.arange(3), (4, 3)), SIZES)
    assert_output(got[2], g.outputs[2], np.broadcast_to(np.arange(4)[:, None], (2, 4, 3)), SIZES)


@pytest.mark.parametrize("dtype", [f32, f64])
def test_float_constants(dtype):
    values = [0.5, 0.1, -0.0, 1e-300, float("inf"), float("-inf"), float("nan"), 3]
    g = make_graph(lambda b: tuple(b.constant(value=v, dtype=dtype) for v in values))
    got = run(g)
    for out, v, value in zip(got, values, g.outputs):
        assert_output(out, value, dtype.np.type(v), {})
    assert np.signbit(got[2])


def test_int_bool_and_dim_constants():
    n, d = Sym.name("n"), Sym.name("d")

    def build(b, x):
        return (b.constant(value=-7, dtype=i32), b.constant(value=2**40, dtype=i64),
                b.constant(value=True, dtype=bool_), b.constant(value=n, dtype=f32),
                b.constant(value=n * d - 1, dtype=i64))

    g = make_graph(build, ir.TensorType(f32, ("n", "d")))
    want = [-7, 2**40, True, 4, 4 * 3 - 1]
    for out, value, w in zip(run(g, np.zeros((4, 3), np.float32)), g.outputs, want):
        assert_output(out, value, w, {})


def test_constant_out_of_range_is_an_ir_error():
    g = make_graph(lambda b: b.constant(value=2**31, dtype=i32))
    with pytest.raises(IRError, match="does not fit i32"):
        compile(g)


def test_logistic_is_stable_for_large_inputs():
    g = make_graph(lambda b, x: b.logistic(x), ir.TensorType(f64, ("n",)))
    x = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0, np.nan])
    with np.errstate(over="raise", divide="raise"):
        got = run(g, x)
    want = np.array([0.0, np.exp(-40.0), 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1.0)), 1.0, 1.0, np.nan])
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_dot_general_picks_the_cheapest_form():
    def statement(lhs, rhs, contract, batch):
        g = make_graph(lambda b, x, y: b.dot_general(x, y, contract=contract, batch=batch),
                       ir.TensorType(f32, lhs), ir.TensorType(f32, rhs))
        return compile(g).source.splitlines()[-2]

    assert "= a0_1 @ a1_2.T  #" in statement((2, 3), (4, 3), ((1,), (1,)), ((), ()))
    assert "= (a0_1.reshape(10, 3) @ a1_2).reshape((2, 5, 4))  #" in statement(
        (2, 5, 3), (3, 4), ((2,), (0,)), ((), ()))
    assert "= (a0_1.reshape(15) @ a1_2.reshape(15)).reshape(())  #" in statement((5, 3), (5, 3), ((0, 1), (0, 1)), ((), ()))
    assert "= np.multiply.outer(a0_1, a1_2)  #" in statement((2, 5), (3,), ((), ()), ((), ()))
    # contracted dims leading: the transposed view of the merged matrix, not a copy
    assert "= a0_1.reshape(10, 3).T @ a1_2.reshape(10, 4)  #" in statement(
        (2, 5, 3), (2, 5, 4), ((0, 1), (0, 1)), ((), ()))
    assert "= np.matmul(" in statement((6, 2, 3), (6, 3, 4), ((2,), (1,)), ((0,), (0,)))
    assert "optimize=False" in statement((6, 3), (6, 3), ((1,), (1,)), ((0,), (0,)))


@pytest.mark.parametrize("lhs, rhs, contract", [
    ((2, 5, 3), (3, 4), ((2,), (0,))),
    ((3, 2, 5), (4, 3), ((0,), (1,))),  # contracted dims first / last: moved, then merged
    ((2, 3, 5), (5, 3, 4), ((1, 2), (1, 0))),  # two contracted dims, in swapped order
    ((2, 5, 3), (2, 5, 4), ((0, 1), (0, 1))),  # contracted first: a transposed view
    ((2, 5, 3), (4, 5, 2), ((0, 1), (2, 1))),  # ... and on the right, last, reversed
    ((5, 3), (3, 5), ((0, 1), (1, 0))),  # everything contracted: a dot
    ((2, 3), (3, 4, 2), ((1,), (0,))),
    ((3,), (3, 4, 2), ((0,), (0,))),  # a vector on the left
    ((2, 0), (0, 3), ((1,), (0,))),  # an empty contraction is zeros
    ((2, 5), (3,), ((), ())),  # nothing contracted: an outer product
])
def test_dot_general_without_batch_dims_matches_tensordot(lhs, rhs, contract):
    g = make_graph(lambda b, x, y: b.dot_general(x, y, contract=contract, batch=((), ())),
                   ir.TensorType(f64, lhs), ir.TensorType(f64, rhs))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(lhs), rng.standard_normal(rhs)
    got = run(g, x, y)
    want = np.tensordot(x, y, axes=contract)
    assert isinstance(got, np.ndarray) and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_every_primitive_has_a_rule_and_a_row():
    from ddc.codegen.numpy.fusion import BACKEND_PRIMITIVES

    assert set(numpy_rules) == set(ir.PRIMITIVES) | set(BACKEND_PRIMITIVES)
    tested = {g_prim for row in ROWS for g_prim in _prims(row)} | {"iota", "constant"}
    assert tested == set(ir.PRIMITIVES)


def _prims(row: Row) -> set[str]:
    types = [ir.TensorType(f64 if a.dtype == F else a.dtype, a.shape) for a in row.args]
    return {n.prim.name for n in make_graph(row.build, *types).nodes}
