"""sum_of_products: sum(x * y) over some axes is one contraction, same numbers."""
from __future__ import annotations

import numpy as np

from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.ir import Builder, TensorType, Value, f64
from ddc.passes.sum_of_products import sum_of_products


def graph(axes, extra_use=False) -> ir.Graph:
    b = Builder()
    x, y = Value(TensorType(f64, (3, 4, 5)), "x"), Value(TensorType(f64, (3, 4, 5)), "y")
    prod = b.mul(x, y)
    outs = [b.reduce_sum(prod, axes=axes)] + ([prod] if extra_use else [])
    return ir.verify(b.graph([x, y], outs, "f"))


def test_row_sums_of_a_product_become_a_batched_contraction():
    g = sum_of_products(graph((1,)))
    ir.verify(g)
    (node,) = g.nodes
    assert node.prim.name == "dot_general"
    assert node.params == {"contract": ((1,), (1,)), "batch": ((0, 2), (0, 2))}
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(compile(g)(x, y), (x * y).sum(1), rtol=1e-13)


def test_full_and_partial_sums_keep_their_values():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 3, 4, 5))
    for axes in [(0, 1, 2), (2,), (0, 2)]:
        g = sum_of_products(graph(axes))
        assert [n.prim.name for n in g.nodes] == ["dot_general"]
        np.testing.assert_allclose(compile(g)(x, y), (x * y).sum(axes), rtol=1e-13)


def test_a_product_used_elsewhere_is_kept():
    g = graph((1,), extra_use=True)
    assert [n.prim.name for n in sum_of_products(g).nodes] == ["mul", "reduce_sum"]
