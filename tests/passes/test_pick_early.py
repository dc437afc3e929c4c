"""pick_early: a gather of an elementwise result gathers the full operand instead."""
from __future__ import annotations

import numpy as np

from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.ir import Builder, Sym, TensorType, Value, f64, i32
from ddc.passes.dce import dce
from ddc.passes.pick_early import pick_early

n, c = Sym.name("n"), Sym.name("c")


def log_softmax_pick(extra_use=False) -> ir.Graph:
    """(z - lse[:, None])[i, labels[i]] with lse kept [n, 1] as the stdlib's keepdims makes it."""
    b = Builder()
    z, labels = Value(TensorType(f64, (n, c)), "z"), Value(TensorType(i32, (n,)), "labels")
    lse = b.reshape(b.log(b.reduce_sum(b.exp(z), axes=(1,))), shape=(n, 1))
    logp = b.sub(z, b.broadcast_in_dim(lse, shape=(n, c), broadcast_dimensions=(0, 1)))
    picked = b.gather(logp, labels, axis=1, batch_dims=1)
    return ir.verify(b.graph([z, labels], [picked] + ([logp] if extra_use else []), "f"))


def test_the_pick_moves_before_the_subtraction():
    g = dce(pick_early(log_softmax_pick()))
    ir.verify(g)
    gather = next(nd for nd in g.nodes if nd.prim.name == "gather")
    assert gather.inputs[0] is g.inputs[0], str(g)  # picks z itself
    assert all(nd.out.shape == (n,) for nd in g.nodes if nd.prim.name == "sub")
    rng = np.random.default_rng(0)
    z, labels = rng.standard_normal((5, 4)), np.array([3, 0, 1, 1, 2], np.int32)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(compile(g)(z, labels), logp[np.arange(5), labels], rtol=1e-15)


def test_an_op_with_other_uses_is_not_duplicated():
    g = log_softmax_pick(extra_use=True)
    assert [nd.prim.name for nd in dce(pick_early(g)).nodes] == [nd.prim.name for nd in g.nodes]
