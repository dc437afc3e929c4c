"""cse, simplify, dce: what they merge and drop, and that they copy nothing they keep."""
from __future__ import annotations

from ddc.ir import Builder, TensorType, Value, f32
from ddc.passes.cleanup import cleanup
from ddc.passes.cse import cse


def _vector() -> Value:
    return Value(TensorType(f32, (4,)), "x")


def test_cse_merges_commutative_duplicates_and_respects_params():
    x, y = _vector(), _vector()
    b = Builder()
    s1, s2 = b.add(x, y), b.add(y, x)
    r1, r2 = b.reduce_sum(s1, axes=(0,)), b.reduce_sum(s2, axes=(0,))
    c1, c2 = b.scalar(float("nan"), f32), b.scalar(float("nan"), f32)
    z1, z2 = b.scalar(0.0, f32), b.scalar(-0.0, f32)
    g = cse(b.graph([x, y], [r1, r2, c1, c2, z1, z2]))
    assert [n.prim.name for n in g.nodes] == ["add", "reduce_sum", "constant", "constant", "constant"]
    assert g.outputs[0] is g.outputs[1] and g.outputs[2] is g.outputs[3]  # nan is nan
    assert g.outputs[4] is not g.outputs[5]  # 0.0 and -0.0 differ


def test_cleanups_keep_the_nodes_they_do_not_change():
    x = _vector()
    b = Builder()
    e = b.exp(x)
    g = b.graph([x], [b.reduce_sum(b.mul(e, e), axes=(0,))])
    cleaned = cleanup(g)
    assert all(a is c for a, c in zip(g.nodes, cleaned.nodes)) and len(cleaned.nodes) == len(g.nodes)


def _matrix(*shape) -> Value:
    return Value(TensorType(f32, shape), "m")


def test_negation_sinks_past_divisions_and_products_but_not_sums():
    """`-ct / y` beside `ct / y` (a division's backward) is one division; the negation then
    goes past the product, but not past the row sum (-(0.0 + -0.0) is -0.0, the sum of the
    negations +0.0)."""
    ct, y, u = _matrix("n", 8), _matrix("n", 8), _matrix("n", 8)
    b = Builder()
    q = b.div(ct, y)
    row = b.reduce_sum(b.mul(u, b.div(b.neg(ct), y)), axes=(1,))
    g = cleanup(b.graph([ct, y, u], [q, row]))
    assert [n.prim.name for n in g.nodes] == ["div", "mul", "neg", "reduce_sum"]


def test_negation_stays_where_the_contraction_would_be_larger_or_where_it_is_shared():
    x, y = _matrix("n"), _matrix("m")
    b = Builder()
    outer = b.dot_general(b.neg(x), y, contract=((), ()), batch=((), ()))
    g = cleanup(b.graph([x, y], [outer]))
    assert [n.prim.name for n in g.nodes] == ["neg", "dot_general"]  # neg on [n], not [n, m]
    b = Builder()
    minus = b.neg(x)
    g = cleanup(b.graph([x], [b.div(minus, x), minus]))
    assert [n.prim.name for n in g.nodes] == ["neg", "div"]


def test_adding_a_negation_is_a_subtraction():
    x, y = _matrix(4), _matrix(4)
    b = Builder()
    g = cleanup(b.graph([x, y], [b.add(b.neg(x), y), b.sub(x, b.neg(y))]))
    assert [n.prim.name for n in g.nodes] == ["sub", "add"]
