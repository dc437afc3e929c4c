"""hoist_broadcasts: elementwise work on broadcasts runs on their operands, same values."""
from __future__ import annotations

import numpy as np

from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.ir import Builder, Sym, TensorType, Value, f64
from ddc.passes.dce import dce
from ddc.passes.hoist_broadcasts import hoist_broadcasts

n, k = Sym.name("n"), Sym.name("k")


def test_a_sum_of_two_broadcast_rows_is_a_broadcast_sum():
    b = Builder()
    r, s, x = (Value(TensorType(f64, sh), nm) for sh, nm in [((n,), "r"), ((n,), "s"), ((n, k), "x")])
    wide = lambda v: b.broadcast_in_dim(v, shape=(n, k), broadcast_dimensions=(0,))  # noqa: E731
    total = b.add(wide(r), wide(s))
    g = ir.verify(b.graph([r, s, x], [b.mul(b.exp(total), x)], "f"))
    h = dce(hoist_broadcasts(g))
    ir.verify(h)
    assert [nd.prim.name for nd in h.nodes] == ["add", "exp", "broadcast_in_dim", "mul"], str(h)
    assert [tuple(nd.out.shape) for nd in h.nodes[:2]] == [(n,), (n,)]
    rng = np.random.default_rng(0)
    rv, sv, xv = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((4, 3))
    np.testing.assert_array_equal(compile(h)(rv, sv, xv), np.exp(rv + sv)[:, None] * xv)


def test_broadcasts_of_different_layouts_are_left_alone():
    b = Builder()
    r, c = Value(TensorType(f64, (3,)), "r"), Value(TensorType(f64, (3,)), "c")
    rows = b.broadcast_in_dim(r, shape=(3, 3), broadcast_dimensions=(0,))
    cols = b.broadcast_in_dim(c, shape=(3, 3), broadcast_dimensions=(1,))
    g = ir.verify(b.graph([r, c], [b.add(rows, cols)], "f"))
    assert [nd.prim.name for nd in dce(hoist_broadcasts(g)).nodes] == [nd.prim.name for nd in g.nodes]
