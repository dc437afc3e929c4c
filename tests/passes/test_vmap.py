"""vmap: every batching rule against a Python loop over the batch, the batched graph run
on each backend (numpy, triton) and the loop on numpy; the shape of the batched graphs (no
weight broadcast under a matmul), composition and errors.

The rows are the shared per-primitive table (`tests/cases.py`) plus rows for the params
the batching rules treat specially (gather/scatter_add batch_dims, dot_general layouts,
symbolic dims). Every rule is run for each set of batched arguments, with the batch dim
first, last, and at a different place per argument. Registry completeness of
`batch_rules` is checked with the other rule tables in `tests/test_rule_tables.py`.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.ir import Builder, Sym, Value, f64, i32, i64
from ddc.passes.vmap import batch_rules, vmap

from ..backends import run
from ..cases import CASES, Case, T, normal

BATCH = 7  # the batch size the tests run with: no dim of the test graphs has this size


def graph_of(arg_types, build: Callable[..., Value | tuple[Value, ...]]) -> ir.Graph:
    b = Builder()
    inputs = [Value(t, f"a{i}") for i, t in enumerate(arg_types)]
    outs = build(b, *inputs)
    return b.graph(inputs, outs if isinstance(outs, tuple) else [outs])


# -- reference: the unbatched graph run once per example --------------------------------

def stack_examples(examples: list[list[np.ndarray]], in_axes) -> list[np.ndarray]:
    """Batched arguments: each batched argument stacked at its axis, the others shared."""
    return [
        examples[0][i] if axis is None else np.stack([e[i] for e in examples], axis=axis)
        for i, axis in enumerate(in_axes)
    ]


def example(args, in_axes, k: int) -> list[np.ndarray]:
    return [a if axis is None else np.take(a, k, axis=axis) for a, axis in zip(args, in_axes)]


def loop(graph, in_axes, args, out_axis=0, batch=BATCH) -> np.ndarray:
    f = compile(graph)
    return np.stack([f(*example(args, in_axes, k)) for k in range(batch)], axis=out_axis)


def check_against_loop(case: Case, in_axes, out_axes=0, backend: str = "numpy") -> ir.Graph:
    graph = case.graph()
    before = str(graph)
    batched = ir.verify(vmap(graph, in_axes, out_axes))
    assert str(graph) == before, "vmap must not mutate its input graph"
    args = stack_examples([case.args(seed=k) for k in range(BATCH)], in_axes)
    got = run(batched, *args, backend=backend)
    out_axis = out_axes[0] if isinstance(out_axes, tuple) else out_axes
    want = loop(graph, in_axes, args, out_axis)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    return batched


# -- rows beyond the shared table ---------------------------------------------------------

def prim(name, **params):
    return lambda b, a: b.bind(name, *a, **params)


def indexing(x_shape, idx_shape, bound):
    """f64 values and i64 indices below `bound`."""
    return lambda rng: [rng.standard_normal(x_shape), rng.integers(0, bound, idx_shape)]


def _divide_by_dim(b, a):
    n = b.broadcast_in_dim(b.constant(value=Sym.name("n"), dtype=f64), shape=a[0].shape,
                           broadcast_dimensions=())
    return b.div(a[0], n)


def softmax_layer(b, a):
    """softmax(x @ W + bias) for one example x: f64[d]."""
    x, W, bias = a
    z = b.add(b.dot_general(x, W, contract=((0,), (0,)), batch=((), ()), name="z0"), bias, name="z")
    m = b.broadcast_in_dim(b.reduce_max(z, axes=(0,)), shape=z.shape, broadcast_dimensions=())
    e = b.exp(b.sub(z, m), name="e")
    s = b.broadcast_in_dim(b.reduce_sum(e, axes=(0,)), shape=z.shape, broadcast_dimensions=())
    return b.div(e, s, name="p")


SOFTMAX = Case("softmax", "dot_general", softmax_layer, [T(3), T(3, 4), T(4)], normal((3,), (3, 4), (4,)))
MATMUL = Case("matmul_symbolic", "dot_general", prim("dot_general", contract=((1,), (0,)), batch=((), ())),
              [T("n", "d"), T("d", "h")], normal((2, 3), (3, 4)))

VMAP_CASES = [
    Case("broadcast_middle", "broadcast_in_dim",
         prim("broadcast_in_dim", shape=(2, 5, 4), broadcast_dimensions=(0, 2)), [T(2, 4)], normal((2, 4))),
    Case("broadcast_scalar", "broadcast_in_dim",
         prim("broadcast_in_dim", shape=(2, 3), broadcast_dimensions=()), [T()], normal(())),
    Case("reshape_flatten", "reshape", prim("reshape", shape=(12,)), [T(2, 3, 2)], normal((2, 3, 2))),
    Case("reduce_sum_all", "reduce_sum", prim("reduce_sum", axes=(0, 1)), [T(2, 3)], normal((2, 3))),
    Case("dot_two_contract", "dot_general",
         prim("dot_general", contract=((1, 2), (1, 0)), batch=((), ())),
         [T(2, 3, 4), T(4, 3)], normal((2, 3, 4), (4, 3))),
    Case("dot_batch_last", "dot_general",
         prim("dot_general", contract=((0,), (1,)), batch=((1,), (2,))),
         [T(3, 2), T(4, 3, 2)], normal((3, 2), (4, 3, 2))),
    Case("dot_vectors", "dot_general",
         prim("dot_general", contract=((0,), (0,)), batch=((), ())), [T(3), T(3)], normal((3,), (3,))),
    MATMUL,
    Case("concatenate_axis0", "concatenate", prim("concatenate", axis=0),
         [T(2, 3), T(1, 3)], normal((2, 3), (1, 3))),
    Case("gather_axis1", "gather", prim("gather", axis=1, batch_dims=0),
         [T(4, 5, 2), T(2, 3, dtype=i64)], indexing((4, 5, 2), (2, 3), 5)),
    Case("gather_batch_dims", "gather", prim("gather", axis=1, batch_dims=1),
         [T(2, 5, 4), T(2, 3, 2, dtype=i64)], indexing((2, 5, 4), (2, 3, 2), 5)),
    Case("scatter_add_axis1", "scatter_add", prim("scatter_add", axis=1, batch_dims=0, shape=(4, 5, 2)),
         [T(4, 2, 3, 2), T(2, 3, dtype=i64)], indexing((4, 2, 3, 2), (2, 3), 5)),
    Case("scatter_add_per_row", "scatter_add", prim("scatter_add", axis=1, batch_dims=1, shape=(3, 4)),
         [T(3), T(3, dtype=i32)], indexing((3,), (3,), 4)),
    Case("scatter_add_batch_dims", "scatter_add",
         prim("scatter_add", axis=1, batch_dims=1, shape=(2, 5, 4)),
         [T(2, 3, 2, 4), T(2, 3, 2, dtype=i64)], indexing((2, 3, 2, 4), (2, 3, 2), 5)),
    Case("constant_dim", "constant", _divide_by_dim, [T("n", 4)], normal((2, 4))),
    SOFTMAX,
]


def in_axes_variants(arg_types):
    """Each non-empty set of batched arguments, with the batch dim first, last, and at
    a different place per argument (so rules must move batch dims to meet)."""
    n = len(arg_types)
    ranks = [t.ndim + 1 for t in arg_types]
    placements = [lambda i, r: 0, lambda i, r: -1, lambda i, r: (i + 1) % r]
    variants = []
    for k in range(1, n + 1):
        for batched in itertools.combinations(range(n), k):
            for place in placements:
                axes = tuple(place(i, ranks[i]) if i in batched else None for i in range(n))
                if axes not in variants:
                    variants.append(axes)
    return variants


@pytest.mark.parametrize("case, in_axes", [
    pytest.param(case, axes, id=f"{case.name}-{axes}")
    for case in CASES + VMAP_CASES
    for axes in in_axes_variants(case.arg_types)
])
def test_rule_against_loop(case, in_axes, backend):
    check_against_loop(case, in_axes, backend=backend)


@pytest.mark.parametrize("name, params", [
    ("iota", dict(shape=(2, 3), dimension=0, dtype=i64)),
    ("constant", dict(value=1.5, dtype=f64)),
])
def test_nullary_rules_leave_values_unbatched(name, params):
    b = Builder()
    out, batch_dim = batch_rules[name](b, Sym.name("B"), [], [], **params)
    assert batch_dim is None
    assert [n.prim.name for n in b.nodes] == [name]
    assert out.type == ir.PRIMITIVES[name].type_rule([], **params)


# -- composition --------------------------------------------------------------------------

@pytest.mark.parametrize("inner, outer", [
    ((0, None, None), (1, None, None)),
    ((0, None, None), (None, 0, None)),
    ((None, 1, 0), (0, 2, None)),
    ((0, 0, 0), (-1, 0, 1)),
])
def test_vmap_of_vmap(inner, outer, backend):
    graph = SOFTMAX.graph()
    once = vmap(graph, inner)
    twice = ir.verify(vmap(once, outer))
    assert set().union(*(v.type.dim_names() for v in twice.inputs)) == {"B", "B2"}
    outer_batch = 2
    args = stack_examples([
        stack_examples([SOFTMAX.args(seed=100 * j + k) for k in range(BATCH)], inner)
        for j in range(outer_batch)
    ], outer)
    want = np.stack([loop(graph, inner, example(args, outer, j)) for j in range(outer_batch)])
    np.testing.assert_allclose(run(twice, *args, backend=backend), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("out_axes, position", [(1, 1), (-1, 2), ((1,), 1)])
def test_out_axes_place_the_batch_dim(out_axes, position, backend):
    scale_rows = Case("scale_rows", "mul", lambda b, a: b.mul(
        a[0], b.broadcast_in_dim(a[1], shape=(2, 4), broadcast_dimensions=(1,))),
        [T(2, 4), T(4)], normal((2, 4), (4,)))
    batched = check_against_loop(scale_rows, (0, 0), out_axes=out_axes, backend=backend)
    assert batched.outputs[0].shape[position] == Sym.name("B")


def test_unbatched_outputs(backend):
    """An output that does not depend on the batch is broadcast for an int out_axis and
    passed through as it is for None."""
    graph = graph_of([T(3), T(3)], lambda b, x, w: (b.mul(x, w), b.exp(w)))
    x, w = np.random.default_rng(2).standard_normal((BATCH, 3)), np.arange(3.0)
    prod, ew = run(ir.verify(vmap(graph, (0, None), out_axes=(0, None))), x, w, backend=backend)
    np.testing.assert_allclose(prod, x * w)
    np.testing.assert_allclose(ew, np.exp(w))
    _, ew = run(ir.verify(vmap(graph, (0, None), out_axes=1)), x, w, backend=backend)
    np.testing.assert_allclose(ew, np.broadcast_to(np.exp(w)[:, None], (3, BATCH)))


def test_mismatched_batch_sizes_fail_at_call_time(backend):
    graph = vmap(graph_of([T(3), T(3)], lambda b, x, y: b.add(x, y)), (0, 0))
    with pytest.raises(ValueError, match="B"):
        run(graph, np.ones((2, 3)), np.ones((4, 3)), backend=backend)


# -- the shape of batched graphs ----------------------------------------------------------

def test_batched_matmul_against_unbatched_weight_is_one_dot_general():
    batched = check_against_loop(MATMUL, (0, None))
    (node,) = batched.nodes
    assert node.prim.name == "dot_general"
    assert node.inputs[1] is batched.inputs[1]  # the weight itself: no broadcast, no copy
    B, n, d, h = (Sym.name(s) for s in "Bndh")
    assert batched.inputs[0].shape == (B, n, d)
    assert batched.outputs[0].shape == (B, n, h)


@pytest.mark.parametrize("in_axes", [(1, None), (-1, None), (None, 0), (None, -1)])
def test_one_batched_operand_never_broadcasts(in_axes):
    stats = ir.verify(vmap(MATMUL.graph(), in_axes)).stats()
    assert stats["dot_general"] == 1
    assert set(stats) <= {"dot_general", "transpose"}  # the output moved to out_axes=0


def test_both_batched_is_a_dot_general_batch_dim():
    batched = ir.verify(vmap(MATMUL.graph(), (0, 2)))
    assert batched.stats() == {"dot_general": 1}
    assert batched.nodes[0].params["batch"] == ((0,), (2,))


def test_elementwise_moves_and_broadcasts_only_what_it_must():
    graph = graph_of([T(2, 4), T(2, 4)], lambda b, x, y: b.mul(x, y))
    assert vmap(graph, (1, 1), out_axes=1).stats() == {"mul": 1}
    assert vmap(graph, (None, 1), out_axes=1).stats() == {"broadcast_in_dim": 1, "mul": 1}
    assert vmap(graph, (0, 1), out_axes=0).stats() == {"transpose": 1, "mul": 1}


def test_gather_with_one_batched_operand_moves_nothing():
    graph = graph_of([T(3, 4), T(3, dtype=i32)], lambda b, x, i: b.gather(x, i, axis=1, batch_dims=1))
    assert vmap(graph, (2, None), out_axes=1).stats() == {"gather": 1}
    assert vmap(graph, (None, 1), out_axes=1).stats() == {"gather": 1}


def test_values_keep_their_names_and_the_graph_its_name():
    batched = vmap(SOFTMAX.graph(), (0, None, None))
    assert [v.name for v in batched.inputs] == ["a0", "a1", "a2"]
    assert batched.outputs[0].name == "p"
    assert {"z0", "z", "e", "p"} <= {n.out.name for n in batched.nodes}
    assert batched.name == "softmax"


def test_fresh_batch_dim_name_and_axis_name():
    graph = graph_of([T("B", 3)], lambda b, x: b.exp(x))
    assert vmap(graph, (0,)).inputs[0].shape[0] == Sym.name("B2")
    assert vmap(graph, (0,), axis_name="examples").inputs[0].shape[0] == Sym.name("examples")


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("in_axes, out_axes, axis_name, message", [
    ((0,), 0, None, "2 inputs"),
    ((0, None, None), 0, None, "2 inputs"),
    (0, 0, None, "tuple"),
    ((3, None), 0, None, "out of range"),
    ((-4, None), 0, None, "out of range"),
    ((None, None), 0, None, "no input"),
    ((0.5, None), 0, None, "int or None"),
    ((0, None), None, None, "depends on the batch"),
    ((0, None), (0, 1), None, "1 outputs"),
    ((0, None), 4, None, "out of range"),
    ((0, None), 0, "d", "already a dim"),
    ((0, None), 0, "not a name", "identifier"),
])
def test_errors(in_axes, out_axes, axis_name, message):
    with pytest.raises(ddc.TransformError, match=message):
        vmap(MATMUL.graph(), in_axes, out_axes, axis_name)
