"""vmap: every batching rule against a Python loop over the batch, the shape of the
batched graphs (no weight broadcast under a matmul), composition and errors."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.codegen.numpy import compile
from ddc.ir import Builder, TensorType, Value, bool_, f32, f64, i32, i64
from ddc.ir.primitives import BINARY_ARITH, BINARY_FLOAT, UNARY_ANY, UNARY_FLOAT
from ddc.passes.vmap import batch_rules, vmap

BATCH = 7  # the batch size the tests run with: no dim of the test graphs has this size


def T(dtype, *shape) -> TensorType:
    return TensorType(dtype, shape)


def graph_of(arg_types, build: Callable[..., Value | tuple[Value, ...]], names=None) -> ir.Graph:
    b = Builder()
    names = names or [f"a{i}" for i in range(len(arg_types))]
    inputs = [Value(t, name) for t, name in zip(arg_types, names)]
    outs = build(b, *inputs)
    return b.graph(inputs, outs if isinstance(outs, tuple) else [outs])


# -- reference: the unbatched graph run once per example --------------------------------

def random_array(rng, t: TensorType, shape, index_bound: int):
    if t.dtype.is_bool:
        return rng.random(shape) < 0.5
    if t.dtype.is_int:
        return rng.integers(0, index_bound, shape).astype(t.dtype.np)
    return rng.uniform(0.5, 2.0, shape).astype(t.dtype.np)  # positive: log, sqrt, pow


def concrete_shape(t: TensorType, sizes: dict[str, int]):
    return tuple(ir.dims.evaluate(d, sizes) for d in t.shape)


def batched_args(rng, graph, in_axes, sizes, index_bound, batch=BATCH):
    args = []
    for v, axis in zip(graph.inputs, in_axes):
        shape = concrete_shape(v.type, sizes)
        if axis is not None:
            shape = list(shape)
            shape.insert(axis % (len(shape) + 1), batch)
        args.append(random_array(rng, v.type, tuple(shape), index_bound))
    return args


def loop_reference(graph, in_axes, out_axis, args, batch=BATCH):
    f = compile(graph)
    results = [
        f(*[a if axis is None else np.take(a, i, axis=axis) for a, axis in zip(args, in_axes)])
        for i in range(batch)
    ]
    return np.stack(results, axis=out_axis)


def check_against_loop(graph, in_axes, out_axes=0, sizes=None, index_bound=2, seed=0):
    before = str(graph)
    batched = ir.verify(vmap(graph, in_axes, out_axes))
    assert str(graph) == before, "vmap must not mutate its input graph"
    args = batched_args(np.random.default_rng(seed), graph, in_axes, sizes or {}, index_bound)
    got = compile(batched)(*args)
    out_axis = out_axes[0] if isinstance(out_axes, tuple) else out_axes
    want = loop_reference(graph, in_axes, out_axis, args)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    return batched


# -- one row per primitive use ------------------------------------------------------------

@dataclass
class Case:
    id: str
    args: list[TensorType]
    build: Callable[..., Value]
    index_bound: int = 2  # integer arguments are indices below this
    sizes: dict[str, int] = field(default_factory=dict)  # symbolic dims at run time


def prim(name, **params):
    return lambda b, *xs: b.bind(name, *xs, **params)


X = T(f64, 2, 4)
CASES = [
    *[Case(p, [X], prim(p)) for p in UNARY_FLOAT + UNARY_ANY + ("stop_gradient",)],
    *[Case(p, [X, X], prim(p)) for p in BINARY_ARITH + BINARY_FLOAT],
    Case("convert", [X], prim("convert", dtype=f32)),
    Case("compare", [X, X], prim("compare", direction="lt")),
    Case("select", [T(bool_, 2, 4), X, X], prim("select")),
    Case("broadcast_in_dim", [T(f64, 2, 4)],
         prim("broadcast_in_dim", shape=(2, 5, 4), broadcast_dimensions=(0, 2))),
    Case("broadcast_in_dim-size1", [T(f64, 1, 4)],
         prim("broadcast_in_dim", shape=(2, 3, 4), broadcast_dimensions=(1, 2))),
    Case("broadcast_in_dim-scalar", [T(f64)],
         prim("broadcast_in_dim", shape=(2, 3), broadcast_dimensions=())),
    Case("reshape", [T(f64, 2, 6)], prim("reshape", shape=(3, 4))),
    Case("reshape-flatten", [T(f64, 2, 3, 2)], prim("reshape", shape=(12,))),
    Case("transpose", [T(f64, 2, 3, 4)], prim("transpose", permutation=(2, 0, 1))),
    Case("reduce_sum", [T(f64, 2, 3, 4)], prim("reduce_sum", axes=(0, 2))),
    Case("reduce_sum-all", [T(f64, 2, 3)], prim("reduce_sum", axes=(0, 1))),
    Case("reduce_max", [T(f64, 2, 3, 4)], prim("reduce_max", axes=(1,))),
    Case("dot_general-matmul", [T(f64, 2, 3), T(f64, 3, 4)],
         prim("dot_general", contract=((1,), (0,)), batch=((), ()))),
    Case("dot_general-batch", [T(f64, 5, 2, 3), T(f64, 5, 3, 4)],
         prim("dot_general", contract=((2,), (1,)), batch=((0,), (0,)))),
    Case("dot_general-two-contract", [T(f64, 2, 3, 4), T(f64, 4, 3)],
         prim("dot_general", contract=((1, 2), (1, 0)), batch=((), ()))),
    Case("dot_general-batch-last", [T(f64, 3, 2), T(f64, 4, 3, 2)],
         prim("dot_general", contract=((0,), (1,)), batch=((1,), (2,)))),
    Case("dot_general-vector", [T(f64, 3), T(f64, 3)],
         prim("dot_general", contract=((0,), (0,)), batch=((), ()))),
    Case("slice", [T(f64, 6, 5)], prim("slice", start=(1, 0), limit=(5, 5), stride=(2, 1))),
    Case("pad", [T(f64, 3, 4)], prim("pad", low=(1, 0), high=(0, 2), interior=(1, 0))),
    Case("concatenate", [T(f64, 2, 3), T(f64, 2, 1), T(f64, 2, 3)], prim("concatenate", axis=1)),
    Case("concatenate-axis0", [T(f64, 2, 3), T(f64, 1, 3)], prim("concatenate", axis=0)),
    Case("gather", [T(f64, 5, 4), T(i64, 3)], prim("gather", axis=0, batch_dims=0), index_bound=5),
    Case("gather-axis1", [T(f64, 4, 5, 2), T(i64, 2, 3)], prim("gather", axis=1, batch_dims=0),
         index_bound=5),
    Case("gather-per-row", [T(f64, 3, 4), T(i32, 3)], prim("gather", axis=1, batch_dims=1),
         index_bound=4),
    Case("gather-batch_dims", [T(f64, 2, 5, 4), T(i64, 2, 3, 2)],
         prim("gather", axis=1, batch_dims=1), index_bound=5),
    Case("scatter_add", [T(f64, 3, 4), T(i64, 3)],
         prim("scatter_add", axis=0, batch_dims=0, shape=(5, 4)), index_bound=5),
    Case("scatter_add-axis1", [T(f64, 4, 2, 3, 2), T(i64, 2, 3)],
         prim("scatter_add", axis=1, batch_dims=0, shape=(4, 5, 2)), index_bound=5),
    Case("scatter_add-per-row", [T(f64, 3), T(i64, 3)],
         prim("scatter_add", axis=1, batch_dims=1, shape=(3, 4)), index_bound=4),
    Case("scatter_add-batch_dims", [T(f64, 2, 3, 2, 4), T(i64, 2, 3, 2)],
         prim("scatter_add", axis=1, batch_dims=1, shape=(2, 5, 4)), index_bound=5),
    # nullary primitives never depend on the batch; they meet a batched value
    Case("iota", [X], lambda b, x: b.add(x, b.iota(shape=(2, 4), dimension=1, dtype=f64))),
    Case("constant", [X], lambda b, x: b.mul(x, b.full(2.5, x.type))),
    Case("constant-dim", [T(f64, "n", 4)],
         lambda b, x: b.div(x, b.broadcast_in_dim(b.constant(value=ir.Sym.name("n"), dtype=f64),
                                                   shape=x.shape, broadcast_dimensions=())),
         sizes={"n": 2}),
    Case("symbolic-dims", [T(f64, "n", "d"), T(f64, "d", 3)],
         prim("dot_general", contract=((1,), (0,)), batch=((), ())), sizes={"n": 2, "d": 4}),
]


def in_axes_variants(arg_types):
    """Each non-empty set of batched arguments, with the batch dim first, last, and at
    a different place per argument (so rules must move batch dims to meet)."""
    n = len(arg_types)
    ranks = [t.ndim + 1 for t in arg_types]
    placements = [
        lambda i, r: 0,
        lambda i, r: -1,
        lambda i, r: (i + 1) % r,
    ]
    seen = []
    for k in range(1, n + 1):
        for batched in itertools.combinations(range(n), k):
            for place in placements:
                axes = tuple(place(i, ranks[i]) if i in batched else None for i in range(n))
                if axes not in seen:
                    seen.append(axes)
    return seen


ROWS = [
    pytest.param(case, axes, id=f"{case.id}-{axes}")
    for case in CASES
    for axes in in_axes_variants(case.args)
]


@pytest.mark.parametrize("case, in_axes", ROWS)
def test_rule_against_loop(case, in_axes):
    graph = graph_of(case.args, case.build)
    check_against_loop(graph, in_axes, sizes=case.sizes, index_bound=case.index_bound)


def test_every_primitive_has_a_batching_rule():
    assert set(batch_rules) == set(ir.PRIMITIVES)


def test_every_primitive_is_exercised_by_a_row():
    used = {n.prim.name for case in CASES for n in graph_of(case.args, case.build).nodes}
    assert used == set(ir.PRIMITIVES)


@pytest.mark.parametrize("name, params", [
    ("iota", dict(shape=(2, 3), dimension=0, dtype=i64)),
    ("constant", dict(value=1.5, dtype=f64)),
])
def test_nullary_rules_leave_values_unbatched(name, params):
    b = Builder()
    out, batch_dim = batch_rules[name](b, ir.Sym.name("B"), [], [], **params)
    assert batch_dim is None
    assert [n.prim.name for n in b.nodes] == [name]
    assert out.type == ir.PRIMITIVES[name].type_rule([], **params)


# -- composition --------------------------------------------------------------------------

def softmax_layer(b, x, W, bias):
    """softmax(x @ W + bias) for one example x: f64[d]."""
    z = b.add(b.dot_general(x, W, contract=((0,), (0,)), batch=((), ()), name="z0"), bias, name="z")
    m = b.broadcast_in_dim(b.reduce_max(z, axes=(0,)), shape=z.shape, broadcast_dimensions=())
    e = b.exp(b.sub(z, m), name="e")
    s = b.broadcast_in_dim(b.reduce_sum(e, axes=(0,)), shape=z.shape, broadcast_dimensions=())
    return b.div(e, s, name="p")


SOFTMAX_ARGS = [T(f64, 3), T(f64, 3, 4), T(f64, 4)]


@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 2, 0), (0, 0, None), (-1, -1, -1)])
def test_composite_graph(in_axes):
    check_against_loop(graph_of(SOFTMAX_ARGS, softmax_layer), in_axes)


@pytest.mark.parametrize("inner, outer", [
    ((0, None, None), (1, None, None)),
    ((0, None, None), (None, 0, None)),
    ((None, 1, 0), (0, 2, None)),
    ((0, 0, 0), (-1, 0, 1)),
])
def test_vmap_of_vmap(inner, outer):
    graph = graph_of(SOFTMAX_ARGS, softmax_layer)
    once = vmap(graph, inner)
    twice = ir.verify(vmap(once, outer))
    assert {d for v in twice.inputs for d in v.type.dim_names()} <= {"B", "B2"}
    outer_batch = 2
    args = batched_args(np.random.default_rng(1), once, outer, {"B": BATCH}, 2, batch=outer_batch)
    want = np.stack([
        loop_reference(graph, inner, 0, [a if ax is None else np.take(a, j, axis=ax)
                                         for a, ax in zip(args, outer)])
        for j in range(outer_batch)
    ])
    np.testing.assert_allclose(compile(twice)(*args), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("out_axes, position", [(1, 1), (-1, 2), ((1,), 1)])
def test_out_axes_place_the_batch_dim(out_axes, position):
    graph = graph_of([T(f64, 2, 4), T(f64, 4)], lambda b, x, y: b.mul(
        x, b.broadcast_in_dim(y, shape=(2, 4), broadcast_dimensions=(1,))))
    batched = check_against_loop(graph, (0, 0), out_axes=out_axes)
    assert batched.outputs[0].shape[position] == ir.Sym.name("B")


def test_unbatched_outputs():
    """An output that does not depend on the batch is broadcast for an int out_axis and
    passed through as it is for None."""
    graph = graph_of([T(f64, 3), T(f64, 3)], lambda b, x, w: (b.mul(x, w), b.exp(w)))
    batched = ir.verify(vmap(graph, (0, None), out_axes=(0, None)))
    x, w = np.random.default_rng(2).uniform(size=(BATCH, 3)), np.arange(3.0)
    prod, ew = compile(batched)(x, w)
    np.testing.assert_allclose(prod, x * w)
    np.testing.assert_allclose(ew, np.exp(w))
    broadcast = ir.verify(vmap(graph, (0, None), out_axes=1))
    _, ew = compile(broadcast)(x, w)
    np.testing.assert_allclose(ew, np.broadcast_to(np.exp(w)[:, None], (3, BATCH)))


def test_mismatched_batch_sizes_fail_at_call_time():
    graph = graph_of([T(f64, 3), T(f64, 3)], lambda b, x, y: b.add(x, y))
    f = compile(vmap(graph, (0, 0)))
    with pytest.raises((ValueError, ddc.CallError)):
        f(np.ones((2, 3)), np.ones((4, 3)))


# -- the shape of batched graphs ----------------------------------------------------------

def matmul_graph():
    return graph_of([T(f64, "n", "d"), T(f64, "d", "h")], prim("dot_general", contract=((1,), (0,)),
                                                                batch=((), ())), names=["x", "W"])


def test_batched_matmul_against_unbatched_weight_is_one_dot_general():
    batched = ir.verify(vmap(matmul_graph(), (0, None)))
    (node,) = batched.nodes
    assert node.prim.name == "dot_general"
    assert node.inputs[1] is batched.inputs[1]  # the weight itself: no broadcast, no copy
    assert batched.inputs[0].shape == (ir.Sym.name("B"), ir.Sym.name("n"), ir.Sym.name("d"))
    assert batched.outputs[0].shape == (ir.Sym.name("B"), ir.Sym.name("n"), ir.Sym.name("h"))
    check_against_loop(matmul_graph(), (0, None), sizes={"n": 2, "d": 3, "h": 4})


@pytest.mark.parametrize("in_axes", [(1, None), (-1, None), (None, 0), (None, -1)])
def test_one_batched_operand_never_broadcasts(in_axes):
    batched = ir.verify(vmap(matmul_graph(), in_axes))
    assert set(batched.stats()) <= {"dot_general", "transpose"}
    assert batched.stats()["dot_general"] == 1


def test_both_batched_is_a_dot_general_batch_dim():
    batched = ir.verify(vmap(matmul_graph(), (0, 2)))
    (node,) = [n for n in batched.nodes if n.prim.name == "dot_general"]
    assert node.params["batch"] == ((0,), (2,))
    assert "broadcast_in_dim" not in batched.stats()


def test_elementwise_keeps_a_shared_batch_dim_in_place():
    graph = graph_of([T(f64, 2, 4), T(f64, 2, 4)], prim("mul"))
    assert vmap(graph, (1, 1), out_axes=1).stats() == {"mul": 1}
    assert vmap(graph, (None, 1), out_axes=1).stats() == {"broadcast_in_dim": 1, "mul": 1}


def test_gather_with_one_batched_operand_moves_nothing():
    graph = graph_of([T(f64, 3, 4), T(i64, 3)], prim("gather", axis=1, batch_dims=1))
    for in_axes in [(1, None), (2, None), (None, 1)]:
        assert vmap(graph, in_axes).stats().get("gather") == 1
    assert vmap(graph, (2, None), out_axes=1).stats() == {"gather": 1}


def test_values_keep_their_names_and_the_graph_its_name():
    graph = graph_of(SOFTMAX_ARGS, softmax_layer, names=["x", "W", "bias"])
    batched = vmap(graph, (0, None, None))
    assert [v.name for v in batched.inputs] == ["x", "W", "bias"]
    assert batched.outputs[0].name == "p"
    names = {n.out.name for n in batched.nodes}
    assert {"z0", "z", "e", "p"} <= names
    assert batched.name == graph.name


def test_fresh_batch_dim_name_and_axis_name():
    graph = graph_of([T(f64, "B", 3)], prim("exp"))
    assert vmap(graph, (0,)).inputs[0].shape[0] == ir.Sym.name("B2")
    assert vmap(graph, (0,), axis_name="examples").inputs[0].shape[0] == ir.Sym.name("examples")


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("in_axes, out_axes, axis_name, message", [
    ((0,), 0, None, "2 inputs"),
    ((0, None, None), 0, None, "2 inputs"),
    ((3, None), 0, None, "out of range"),
    ((-4, None), 0, None, "out of range"),
    ((None, None), 0, None, "no input"),
    ((0, None), None, None, "depends on the batch"),
    ((0, None), (0, 1), None, "1 outputs"),
    ((0, None), 4, None, "out of range"),
    ((0, None), 0, "d", "already a dim"),
    ((0, None), 0, "not a name", "identifier"),
    ((0.5, None), 0, None, "int or None"),
])
def test_errors(in_axes, out_axes, axis_name, message):
    with pytest.raises(ddc.TransformError, match=message):
        vmap(matmul_graph(), in_axes, out_axes, axis_name)
