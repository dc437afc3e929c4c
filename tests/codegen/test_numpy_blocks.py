"""Row blocks: runs of row-local nodes evaluated over cache-sized blocks of rows, across
threads. Sizes here make several blocks (the `blocks` fixture lowers the size work must
have before it is split, and counts the blocks); every result is checked against plain
numpy and against the reference evaluator."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.codegen.numpy import runtime as numpy_runtime
from ddc.codegen.numpy.backend import compile
from ddc.codegen.numpy.blocks import find_regions
from ddc.codegen.numpy.fusion import lower
from ddc.passes.optimize import optimize
from ddc.ir import f64
from ddc.ir.reference import evaluate

from .graphs import make_graph

ROWS = 3 * numpy_runtime.BLOCK_SIZE // 64 + 5  # with 64 columns: four blocks, the last short


@pytest.fixture(autouse=True)
def blocks(monkeypatch) -> list[int]:
    """The number of blocks of each `run_rows` call. Work is split only on more than one
    thread and from PARALLEL_MIN_SIZE elements (more than these tests' arrays hold): here
    two threads, splitting from one block's worth, and a `share` that runs the blocks in
    order on this thread, counting them."""
    counts: list[int] = []

    def share(task, items):
        items = list(items)
        if task.__qualname__.startswith("run_rows."):
            counts.append(len(items))
        for item in items:
            task(item)

    monkeypatch.setattr(numpy_runtime, "THREADS", 2)
    monkeypatch.setattr(numpy_runtime, "PARALLEL_MIN_SIZE", numpy_runtime.BLOCK_SIZE)
    monkeypatch.setattr(numpy_runtime, "share", share)
    return counts


def assert_reference(graph, args, outputs):
    """The compiled outputs are the reference evaluator's, to rounding: BLAS may order a
    dot product's sum differently for a block of rows than for all of them (so the
    tolerance is relative to the output's largest element, for sums that cancel)."""
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    for got, want in zip(outputs, evaluate(graph, *args), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())


def T(*shape):
    return ir.TensorType(f64, shape)


def regions(graph):
    return find_regions(lower(optimize(graph)))


def test_a_softmax_cross_entropy_gradient_runs_in_one_donated_region(blocks):
    m = ddc.loads("import losses\n"
                  "def loss(z: f64[n, c], y: i32[n]) -> f64:\n"
                  "    return mean(losses.cross_entropy(z, y))\n")
    g = ddc.grad(m.loss)
    (region,) = regions(g.graph_for(ir.f64))
    assert [v.name for v in region.donated] == [] and len(region.outputs) == 1
    source = g.compiled(ir.f64).source
    assert "run_rows(" in source and "np.empty(" in source  # z is the caller's: not donated
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((ROWS, 64)), rng.integers(0, 64, ROWS).astype(np.int32)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(ROWS), y] -= 1
    np.testing.assert_allclose(g(z, y), p / ROWS, rtol=1e-12, atol=1e-18)
    assert blocks == [4]
    assert_reference(g.graph_for(ir.f64), (z, y), g(z, y))


def test_a_fresh_input_used_only_in_the_region_holds_its_output(blocks):
    def build(b, x, W, r):
        z = b.dot_general(x, W, contract=((1,), (0,)), batch=((), ()))  # fresh, dies in the region
        row = b.broadcast_in_dim(r, shape=z.shape, broadcast_dimensions=(1,))
        return b.tanh(b.mul(b.exp(b.neg(z)), row))

    g = make_graph(build, T("n", 8), T(8, 64), T(64))
    (region,) = regions(g)
    assert len(region.donated) == 1
    lines = [line.strip() for line in compile(g).source.splitlines()]
    assert "t_10 = t_5" in lines  # the output is the product's own buffer
    assert "t_13 = np.negative(t_11, out=t_11)  # f64[n_4,64]" in lines  # its rows, in place
    rng = np.random.default_rng(1)
    x, W, r = rng.standard_normal((ROWS, 8)), rng.standard_normal((8, 64)), rng.standard_normal(64)
    np.testing.assert_allclose(compile(g)(x, W, r), np.tanh(np.exp(-(x @ W)) * r), rtol=1e-13)
    assert blocks == [4]
    assert_reference(g, (x, W, r), compile(g)(x, W, r))


def test_an_input_with_a_live_view_is_not_overwritten(blocks):
    def build(b, x, W):
        z = b.dot_general(x, W, contract=((1,), (0,)), batch=((), ()))
        head = b.slice(z, start=(0, 0), limit=(ir.Sym.name("n"), 3), stride=(1, 1))  # a view of z
        out = b.tanh(b.exp(b.neg(z)))
        return b.reduce_sum(out, axes=(1,)), b.reduce_sum(head, axes=(1,))

    g = make_graph(build, T("n", 8), T(8, 64))
    assert all(not r.donated for r in regions(g))
    rng = np.random.default_rng(2)
    x, W = rng.standard_normal((ROWS, 8)), rng.standard_normal((8, 64))
    z = x @ W
    total, head = compile(g)(x, W)
    np.testing.assert_allclose(total, np.tanh(np.exp(-z)).sum(1), rtol=1e-13)
    np.testing.assert_allclose(head, z[:, :3].sum(1), rtol=1e-13)
    assert blocks == [4]
    assert_reference(g, (x, W), (total, head))


def test_a_relu_layer_and_its_tangent_are_two_outputs_of_one_region(blocks):
    m = ddc.loads("def layer(x: f64[n, d], W: f64[d, h], b: f64[h]) -> f64[n, h]:\n"
                  "    return relu(x @ W + b)\n")
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((ROWS, 8)), rng.standard_normal((8, 64)), rng.standard_normal(64)
    dx, dW, db = rng.standard_normal((ROWS, 8)), rng.standard_normal((8, 64)), rng.standard_normal(64)
    out, tangent = ddc.jvp(m.layer, (x, W, b), (dx, dW, db))
    a = x @ W + b
    np.testing.assert_allclose(out, np.maximum(a, 0), rtol=1e-13)
    np.testing.assert_allclose(tangent, np.where(a > 0, dx @ W + x @ dW + db, 0), rtol=1e-12)
    assert blocks == [4]


def test_run_rows_covers_every_row_once(blocks):
    seen = np.zeros(1000, int)

    def block(lo, hi):
        seen[lo:hi] += 1

    numpy_runtime.run_rows(block, 1000, numpy_runtime.BLOCK_SIZE // 7)
    np.testing.assert_array_equal(seen, 1)
    assert blocks == [143]  # 7 rows a block, the last one short


def test_blocks_are_functions_beside_the_generated_one_and_take_their_inputs(blocks):
    def build(b, x, r):
        row = b.broadcast_in_dim(r, shape=x.shape, broadcast_dimensions=(1,))
        return b.exp(b.mul(b.neg(x), row))

    g = make_graph(build, T("n", 64), T(64), name="scaled")
    source = compile(g).source
    first, rest = source.split("\ndef scaled_0(", 1)
    assert first.startswith("def rows_") and "(lo_" in first.splitlines()[0]
    assert "run_rows(rows_" in rest and "def rows_" not in rest  # nothing nested, no closures
    rng = np.random.default_rng(4)
    x, r = rng.standard_normal((ROWS, 64)), rng.standard_normal(64)
    np.testing.assert_allclose(compile(g)(x, r), np.exp(-x * r), rtol=1e-14)
    assert blocks == [4]
    assert_reference(g, (x, r), compile(g)(x, r))


def test_a_broadcast_used_after_the_region_is_made_again_not_stored(blocks):
    def build(b, x, g):
        zero = b.full(0.0, x.type)
        positive = b.compare(x, zero, direction="gt")
        relu = b.select(positive, b.exp(x), zero)
        pooled = b.reduce_sum(relu, axes=(1,))
        later = b.dot_general(pooled, pooled, contract=((0,), (0,)), batch=((), ()))  # ends the run
        grad_like = b.select(positive, g, zero)  # zero and positive again, after the region
        return later, grad_like

    g = make_graph(build, T("n", 64), T("n", 64))
    (region,) = regions(g)
    assert [n.prim.name for n in region.recomputed] == ["broadcast_in_dim"]
    assert [v.dtype.name for v in region.outputs] == ["bool", "f64"]  # positive, pooled
    rng = np.random.default_rng(5)
    x, gv = rng.standard_normal((ROWS, 64)), rng.standard_normal((ROWS, 64))
    later, grad_like = compile(g)(x, gv)
    pooled = np.where(x > 0, np.exp(x), 0).sum(1)
    np.testing.assert_allclose(later, pooled @ pooled, rtol=1e-12)
    np.testing.assert_array_equal(grad_like, np.where(x > 0, gv, 0))
    assert blocks == [4]
    assert_reference(g, (x, gv), (later, grad_like))


def test_a_broadcast_only_used_after_the_region_is_made_once_after_it(blocks):
    def build(b, x, s):
        e = b.exp(x)
        half = b.broadcast_in_dim(s, shape=x.shape, broadcast_dimensions=())  # in the run
        pooled = b.reduce_sum(b.mul(e, e), axes=(1,))
        later = b.dot_general(pooled, pooled, contract=((0,), (0,)), batch=((), ()))  # ends the run
        return later, b.mul(half, b.neg(x))

    g = make_graph(build, T("n", 64), T())
    (region,) = regions(g)
    assert [n.prim.name for n in region.recomputed] == ["broadcast_in_dim"]
    block, function = compile(g).source.split("\ndef f_0(", 1)
    assert "a1_2" not in block and function.count("broadcast by its users") == 1
    rng = np.random.default_rng(7)
    x = rng.standard_normal((ROWS, 64))
    later, scaled = compile(g)(x, 0.5)
    pooled = (np.exp(x) ** 2).sum(1)
    np.testing.assert_allclose(later, pooled @ pooled, rtol=1e-12)
    np.testing.assert_allclose(scaled, -0.5 * x, rtol=1e-15)
    assert blocks == [4]
    assert_reference(g, (x, 0.5), (later, scaled))


def test_a_broadcast_of_a_row_value_is_stored_as_the_row_value(blocks):
    """A row norm broadcast over the row and used after the region (as the normalisation's
    backward does) is kept as the [n, 1] norm; the broadcast is a view made after."""

    def build(b, x, g):
        norm = b.sqrt(b.reshape(b.reduce_sum(b.mul(x, x), axes=(1,)), shape=(x.shape[0], 1)))
        wide = b.broadcast_in_dim(norm, shape=x.shape, broadcast_dimensions=(0, 1))
        unit = b.div(x, wide)
        gram = b.dot_general(unit, unit, contract=((0,), (0,)), batch=((), ()))  # ends the run
        return gram, b.div(g, wide)

    g = make_graph(build, T("n", 64), T("n", 64))
    (region,) = regions(g)
    assert [n.prim.name for n in region.recomputed] == ["broadcast_in_dim"]
    assert sorted(tuple(v.shape[1:]) for v in region.outputs) == [(1,), (64,)]  # norm, unit
    rng = np.random.default_rng(6)
    x, gv = rng.standard_normal((ROWS, 64)), rng.standard_normal((ROWS, 64))
    gram, scaled = compile(g)(x, gv)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(gram, (x / norm).T @ (x / norm), rtol=1e-12)
    np.testing.assert_allclose(scaled, gv / norm, rtol=1e-14)
    assert blocks == [4]
    assert_reference(g, (x, gv), (gram, scaled))


def test_row_sums_of_products_join_the_region_so_their_operand_is_donated(blocks):
    m = ddc.loads("import metric\n"
                  "def loss(x: f64[n, d], y: f64[n, d], L: f64[k, d]) -> f64:\n"
                  "    return mean(metric.mahalanobis(x, y, L))\n")
    g = ddc.grad(m.loss, argnums=2)
    (region,) = regions(g.graph_for(ir.f64))
    assert len(region.donated) == 1 and "np.empty(" not in g.compiled(ir.f64).source
    rng = np.random.default_rng(6)
    x, y, L = rng.standard_normal((ROWS, 64)), rng.standard_normal((ROWS, 64)), rng.standard_normal((64, 64))
    diff = x - y
    z = diff @ L.T
    want = (z / np.sqrt((z * z).sum(1, keepdims=True))).T @ diff / ROWS
    np.testing.assert_allclose(g(x, y, L), want, rtol=1e-11)
    assert blocks == [4]
    assert_reference(g.graph_for(ir.f64), (x, y, L), g(x, y, L))


def test_an_input_a_broadcast_made_after_the_region_reads_is_not_overwritten(blocks):
    """A broadcast of a fresh input, in the run but only used after it, is made after the
    blocks and reads the input there: the blocks must not have written into its rows
    (the differential fuzzer's c*c read as 1 - tanh(c*c)**2)."""

    def build(b, x, W):
        z = b.dot_general(x, W, contract=((1,), (0,)), batch=((), ()))  # fresh, last used in the run
        wide = b.broadcast_in_dim(z, shape=(x.shape[0], 64, 8), broadcast_dimensions=(0, 1))
        rows = b.reduce_sum(b.tanh(b.exp(b.neg(z))), axes=(1,))
        return rows, b.reduce_sum(wide, axes=(0,))  # ends the run, reads z through wide

    g = make_graph(build, T("n", 8), T(8, 64))
    (region,) = regions(g)
    assert [n.prim.name for n in region.recomputed] == ["broadcast_in_dim"] and region.donated == []
    rng = np.random.default_rng(8)
    x, W = rng.standard_normal((ROWS, 8)), rng.standard_normal((8, 64))
    z = x @ W
    rows, columns = compile(g)(x, W)
    np.testing.assert_allclose(rows, np.tanh(np.exp(-z)).sum(1), rtol=1e-13)
    np.testing.assert_allclose(columns, np.broadcast_to(z.sum(0)[:, None], (64, 8)), rtol=1e-12)
    assert blocks == [4]
    assert_reference(g, (x, W), (rows, columns))
