"""The Triton backend's kernel partition: a valid partition for every row of tests/cases.py (forward, gradient,
batched), the groups of the patterns it exists for, and the two legality rules (no cycle
between groups, registers read only where the kernel holds them), with the numbers of the
fused kernels checked through the Triton backend."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from ddc import ir
from ddc.ir import PRIMITIVES, Builder, TensorType, Value, f64, i32
from ddc.passes import autodiff
from ddc.codegen.triton.index_maps import index_rules
from ddc.codegen.triton.partition import partition
from ddc.passes.dce import dce
from ddc.passes.jvp import jvp
from ddc.passes.vmap import vmap

from ..backends import run
from ..cases import CASES
from ..codegen.graphs import make_graph


def T(*shape, dtype=f64) -> TensorType:
    return TensorType(dtype, shape)


def assert_valid_partition(graph: ir.Graph) -> None:
    """Every node in a kernel (exactly one unless recomputed), kernels in an order that can
    run, each reading only graph inputs and earlier kernels' outputs, writing what others
    or the caller read."""
    fusion = partition(graph)
    made = fusion.recomputed
    seen: dict[int, int] = {}
    for g in fusion.groups:
        for n in g.nodes:
            if n.out.id not in made:
                assert n.out.id not in seen, f"{n} in kernels {seen[n.out.id]} and {g.id}"
            seen[n.out.id] = g.id
    assert {n.out.id for n in graph.nodes} <= set(seen)  # the graphs here have no dead nodes
    available = {v.id for v in graph.inputs}
    users = graph.users()
    returned = {v.id for v in graph.outputs}
    for k, g in enumerate(fusion.groups):
        assert g.id == k
        inside = {n.out.id for n in g.nodes}
        for v in g.inputs:
            assert v.id in available and v.id not in inside
        for v in g.outputs:
            assert v.id in inside and v.id in g.placements or g.kind == "scatter"
            assert v.id in returned or any(u.out.id not in inside for u in users.get(v.id, []))
        available |= {v.id for v in g.outputs}
    assert {v.id for v in graph.outputs} <= available


def gradient(graph: ir.Graph) -> ir.Graph:
    b = Builder()
    inputs = [Value(v.type, v.name) for v in graph.inputs]
    (out,) = ir.inline(b, graph, inputs)
    ct = Value(out.type, "ct")
    loss = b.reduce_sum(b.mul(out, ct), axes=tuple(range(out.ndim)))
    scalar = b.graph(inputs + [ct], [loss], graph.name)
    return autodiff.grad(scalar, tuple(i for i, v in enumerate(graph.inputs) if v.dtype.is_float))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_partitions_are_valid(case):
    g = case.graph()
    for graph in (g, gradient(g), vmap(g, [0] * len(g.inputs)), dce(jvp(jvp(g)))):
        before = str(graph)
        assert_valid_partition(graph)
        assert str(graph) == before, "partition must not change the graph"


def test_index_rules_cover_the_map_like_primitives():
    anchors = {"reduce_sum", "reduce_max", "dot_general"}
    assert set(index_rules) == set(PRIMITIVES) - anchors


# -- the patterns ----------------------------------------------------------------------------

def mlp_layer() -> ir.Graph:
    def build(b, x, W, bias):
        h = b.add(b.dot_general(x, W, contract=((1,), (0,)), batch=((), ())),
                  b.broadcast_in_dim(bias, shape=("b", "h"), broadcast_dimensions=(1,)))
        zeros = b.zeros(h.type)
        return b.select(b.compare(h, zeros, direction="gt"), h, zeros)

    return make_graph(build, T("b", "d"), T("d", "h"), T("h"), names=["x", "W", "bias"])


def softmax() -> ir.Graph:
    def build(b, z):
        m = b.reduce_max(z, axes=(1,))
        e = b.exp(b.sub(z, b.broadcast_in_dim(m, shape=z.shape, broadcast_dimensions=(0,))))
        total = b.broadcast_in_dim(b.reduce_sum(e, axes=(1,)), shape=z.shape, broadcast_dimensions=(0,))
        return b.div(e, total)

    return make_graph(build, T("n", "c"), names=["z"])


def test_matmul_takes_bias_and_relu_as_epilogue():
    (g,) = partition(mlp_layer()).groups
    assert g.kind == "matmul"
    assert [n.prim.name for n in g.nodes] == [
        "dot_general", "broadcast_in_dim", "add", "constant", "broadcast_in_dim", "compare", "select"]
    assert [v.name for v in g.inputs] == ["x", "W", "bias"]


def test_softmax_rows_are_one_kernel():
    fusion = partition(softmax())
    (g,) = fusion.groups
    assert g.kind == "reduction" and tuple(g.space.axes) == (1,)
    assert [a.prim.name for a in g.anchors] == ["reduce_max", "reduce_sum"]
    z = np.random.default_rng(0).standard_normal((4, 6))
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(run(softmax(), z, backend="triton"), e / e.sum(1, keepdims=True), rtol=1e-12)


def test_the_weight_gradient_is_stored_transposed_by_its_matmul():
    def build(b, x, dh):
        return b.transpose(b.dot_general(dh, x, contract=((0,), (0,)), batch=((), ())), permutation=(1, 0))

    graph = make_graph(build, T("b", "d"), T("b", "h"))
    (g,) = partition(graph).groups
    assert g.kind == "matmul" and [n.prim.name for n in g.nodes] == ["dot_general", "transpose"]
    rng = np.random.default_rng(1)
    x, dh = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(run(graph, x, dh, backend="triton"), x.T @ dh, rtol=1e-12)


def test_producers_fuse_into_their_only_consumer():
    """exp(b) is used by the broadcast only: it is recomputed there, not written."""
    graph = make_graph(lambda b, x, v: b.mul(x, b.broadcast_in_dim(b.exp(v), shape=("n", "h"),
                                                                   broadcast_dimensions=(1,))),
                       T("n", "h"), T("h"))
    (g,) = partition(graph).groups
    assert [n.prim.name for n in g.nodes] == ["exp", "broadcast_in_dim", "mul"]


def test_reductions_over_one_space_share_a_kernel():
    graph = make_graph(lambda b, x, y: (b.reduce_sum(x, axes=(1,)), b.reduce_max(b.exp(y), axes=(1,))),
                       T("n", "c"), T("n", "c"))
    (g,) = partition(graph).groups
    assert [a.prim.name for a in g.anchors] == ["reduce_sum", "reduce_max"]


def test_one_hot_scatter_is_read_in_place_and_colliding_scatter_gets_its_kernel():
    one_hot = make_graph(lambda b, u, idx: b.mul(b.scatter_add(u, idx, axis=1, batch_dims=1, shape=("n", "c")),
                                                 b.full(2.0, T("n", "c"))), T("n"), T("n", dtype=i32))
    (g,) = partition(one_hot).groups
    assert g.kind == "elementwise"
    colliding = make_graph(lambda b, u, idx: b.exp(b.scatter_add(u, idx, axis=0, batch_dims=0, shape=(4, 3))),
                           T("k", 3), T("k", dtype=i32))
    kinds = [g.kind for g in partition(colliding).groups]
    assert kinds == ["scatter", "elementwise"]
    rng = np.random.default_rng(2)
    u, idx = rng.standard_normal((6, 3)), np.array([0, 3, 3, 1, 0, 3], np.int32)
    want = np.zeros((4, 3))
    np.add.at(want, idx, u)
    np.testing.assert_allclose(run(colliding, u, idx, backend="triton"), np.exp(want), rtol=1e-12)


def test_gather_kernels():
    graph = make_graph(lambda b, table, idx: b.tanh(b.gather(table, idx, axis=0, batch_dims=0)),
                       T("v", "d"), T("n", dtype=i32))
    (g,) = partition(graph).groups
    assert g.kind == "gather"


# -- legality --------------------------------------------------------------------------------

def test_no_cycle_between_kernels():
    """add(M, colsum(M)) cannot join M's matmul: the column sums read M's kernel's output.
    It joins the column sums' kernel instead."""
    def build(b, x, W):
        m = b.dot_general(x, W, contract=((1,), (0,)), batch=((), ()))
        col = b.reduce_sum(m, axes=(0,))
        return b.add(m, b.broadcast_in_dim(col, shape=m.shape, broadcast_dimensions=(1,)))

    graph = make_graph(build, T("n", "d"), T("d", "h"))
    fusion = partition(graph)
    assert [g.kind for g in fusion.groups] == ["matmul", "reduction"]
    add = graph.nodes[-1]
    assert fusion.group_of(add) is fusion.groups[1]
    quotient = nx.DiGraph()
    for g in fusion.groups:
        for h in fusion.groups:
            if any(v in h.inputs for v in g.outputs):
                quotient.add_edge(g.id, h.id)
    assert nx.is_directed_acyclic_graph(quotient)
    rng = np.random.default_rng(3)
    x, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    m = x @ W
    np.testing.assert_allclose(run(graph, x, W, backend="triton"), m + m.sum(0), rtol=1e-12)


def test_a_reduction_read_across_its_rows_is_not_fused():
    """Row sums broadcast along columns are read at another row than the one a program
    holds: the add must read them from memory."""
    def build(b, x):
        rows = b.reduce_sum(x, axes=(1,))
        return b.add(x, b.broadcast_in_dim(rows, shape=x.shape, broadcast_dimensions=(1,)))

    graph = make_graph(build, T("n", "n"))
    fusion = partition(graph)
    assert len(fusion.groups) == 2
    assert fusion.group_of(graph.nodes[0]) is not fusion.group_of(graph.nodes[-1])
    x = np.random.default_rng(4).standard_normal((4, 4))
    np.testing.assert_allclose(run(graph, x, backend="triton"), x + x.sum(1)[None, :], rtol=1e-12)


# -- the listing -------------------------------------------------------------------------------

def test_describe_lists_kernels_with_text_ir_names():
    graph = autodiff.value_and_grad(make_graph(lambda b, z: b.reduce_sum(b.exp(z), axes=(0, 1)),
                                               T("n", "c"), names=["z"]), 0)
    text = partition(graph).describe()
    assert text.splitlines()[0] == "# 1 kernel"
    assert "kernel 0: reduction over [n,c] axes (0, 1)" in text
    assert "  ops: exp reduce_sum" in text
    assert "  in:  %z:f64[n,c]" in text
    names = str(graph)
    for line in text.splitlines():
        if line.startswith("  out:"):
            for item in line[len("  out: "):].split(", "):
                assert item.split(":")[0] + ":" in names


def test_group_of_constants_and_dead_nodes():
    b = Builder()
    x = Value(T(3), "x")
    two = b.full(2.0, T(3))
    b.exp(x)  # dead: no output depends on it
    out = b.mul(b.add(x, two), two)
    graph = b.graph([x], [out])
    fusion = partition(graph)
    (g,) = fusion.groups
    constant, broadcast, dead = graph.nodes[:3]
    assert fusion.group_of(constant) is g and fusion.group_of(broadcast) is g
    assert fusion.group_of(dead) is None
