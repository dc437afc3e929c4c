"""onehot_to_gather: the one exact rewrite of a label pick, and the ones it must not make."""
from __future__ import annotations

import numpy as np
import pytest

import ddc
from ddc import ir
from ddc.codegen.numpy.backend import compile
from ddc.ir import Builder, Sym, TensorType, Value, f64, i32
from ddc.ir.reference import evaluate
from ddc.passes.autodiff import grad
from ddc.passes.cleanup import cleanup
from ddc.passes.dce import dce
from ddc.passes.onehot import onehot_to_gather

n, c = Sym.name("n"), Sym.name("c")


def one_hot(b, labels, shape):
    """As the dsl lowers `one_hot`: ones scattered at the labels."""
    ones = b.broadcast_in_dim(b.constant(value=1.0, dtype=f64), shape=(shape[0], 1), broadcast_dimensions=())
    column = b.reshape(labels, shape=(shape[0], 1))
    return b.scatter_add(ones, column, axis=1, batch_dims=1, shape=shape)


def compared(b, labels, shape):
    """A one-hot written as a comparison, `labels[:, None] == arange(c)`."""
    spread = b.broadcast_in_dim(labels, shape=shape, broadcast_dimensions=(0,))
    classes = b.iota(shape=shape, dimension=1, dtype=i32)
    return b.convert(b.compare(spread, classes, direction="eq"), dtype=f64)


def picked_loss(one_hot=one_hot) -> ir.Graph:
    """-sum(log_softmax-ish(z) * one_hot(labels)) / n, as the stdlib writes it."""
    b = Builder()
    z, labels = Value(TensorType(f64, (n, c)), "z"), Value(TensorType(i32, (n,)), "labels")
    logp = b.sub(z, b.broadcast_in_dim(b.log(b.reduce_sum(b.exp(z), axes=(1,))), shape=(n, c),
                                       broadcast_dimensions=(0,)))
    picked = b.reduce_sum(b.mul(logp, one_hot(b, labels, (n, c))), axes=(1,))
    total = b.reduce_sum(picked, axes=(0,))
    return ir.verify(b.graph([z, labels], [b.neg(b.div(total, b.constant(value=n, dtype=f64)))], "loss"))


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 3], np.int32)


def prims(graph) -> set[str]:
    return {node.prim.name for node in graph.nodes}


def test_the_pick_stays_a_sum_of_products_and_keeps_its_nans_and_zeros():
    """sum(one_hot(l) * y) is not gather(y, l): an inf in another class makes it NaN, and
    a picked -0.0 sums to +0.0."""
    g = picked_loss()
    assert prims(onehot_to_gather(g)) == prims(g)
    b = Builder()
    z, labels = Value(TensorType(f64, (n, c)), "z"), Value(TensorType(i32, (n,)), "labels")
    g = ir.verify(b.graph([z, labels], [b.reduce_sum(b.mul(one_hot(b, labels, (n, c)), z), axes=(1,))], "pick"))
    z = np.array([[1.0, np.inf, 2.0], [-0.0, -1.0, -2.0], [0.0, -1.0, 2.0]])
    labels = np.array([0, 0, 0], np.int32)
    got, (want,) = compile(g)(z, labels), evaluate(g, z, labels)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(want[0]) and np.signbit(got[1:]).tolist() == np.signbit(want[1:]).tolist() == [False, False]


def test_the_cotangent_stays_dense_and_matches_the_analytic_gradient():
    g = grad(picked_loss())
    rewritten = cleanup(onehot_to_gather(g))
    ir.verify(rewritten)
    assert prims(rewritten) == prims(cleanup(g))  # the one-hot's product stays
    z, labels = data()
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    p[np.arange(6), labels] -= 1
    np.testing.assert_allclose(compile(rewritten)(z, labels), p / 6, rtol=1e-12, atol=1e-15)


def test_a_row_sum_of_a_per_row_scatter_is_its_updates():
    b = Builder()
    u, labels = Value(TensorType(f64, (n,)), "u"), Value(TensorType(i32, (n,)), "labels")
    spread = b.scatter_add(u, labels, axis=1, batch_dims=1, shape=(n, c))
    g = ir.verify(b.graph([u, labels], [b.reduce_sum(spread, axes=(1,))], "f"))
    rewritten = dce(onehot_to_gather(g))
    assert "scatter_add" not in prims(rewritten), str(rewritten)
    values, labels = np.array([1.5, -2.0, 3.0, -0.0, np.nan]), np.array([2, 0, 1, 0, 1], np.int32)
    got = compile(rewritten)(values, labels)
    np.testing.assert_array_equal(got, values)
    assert not np.signbit(got[3])  # -0.0 lands on a +0.0: its row sums to +0.0


def test_a_row_sum_of_a_scatter_at_computed_labels_keeps_its_index_check():
    b = Builder()
    u, x = Value(TensorType(f64, (n,)), "u"), Value(TensorType(f64, (n,)), "x")
    spread = b.scatter_add(u, b.convert(x, dtype=i32), axis=1, batch_dims=1, shape=(n, 3))
    g = ir.verify(b.graph([u, x], [b.reduce_sum(spread, axes=(1,))], "f"))
    assert "scatter_add" in prims(dce(onehot_to_gather(g)))
    with pytest.raises(ddc.DDIndexError):
        compile(g)(np.ones(2), np.array([0.0, 3.0]))


def test_a_one_hot_written_as_a_comparison_is_left_alone():
    # there a label outside [0, c) means a zero row, which a gather would not give
    g = picked_loss(compared)
    assert "gather" not in prims(dce(onehot_to_gather(g)))


@pytest.mark.parametrize("bad", [-1, 4])
def test_the_pick_and_its_gather_raise_alike_for_a_label_out_of_range(bad):
    z, labels = data()
    labels[2] = bad
    for g in (picked_loss(), dce(onehot_to_gather(picked_loss())), grad(picked_loss())):
        with pytest.raises(ddc.DDIndexError, match=f"labels\\[2\\] = {bad} is outside \\[0, 4\\)"):
            compile(g)(z, labels)


SPECIAL = np.array([np.nan, -np.inf, -1.5, -0.0, 0.0, 2.5, np.inf])


@pytest.mark.parametrize("negated", [False, True])
def test_the_row_sum_of_a_scatter_is_its_updates_exactly(negated):
    """sum(scatter_add(a, l)) -> a + 0.0 and sum(-scatter_add(a, l)) -> -(a + 0.0) + 0.0:
    no [n, c] array, the same bits as the reference at NaN, ±0 and ±inf."""
    b = Builder()
    a, labels = Value(TensorType(f64, (7,)), "a"), Value(TensorType(i32, (7,)), "labels")
    rows = b.scatter_add(b.reshape(a, shape=(7, 1)), b.reshape(labels, shape=(7, 1)),
                         axis=1, batch_dims=1, shape=(7, 3))
    g = ir.verify(b.graph([a, labels], [b.reduce_sum(b.neg(rows) if negated else rows, axes=(1,))], "f"))
    assert "scatter_add" not in [node.prim.name for node in dce(onehot_to_gather(g)).nodes]
    args = SPECIAL, np.array([0, 1, 2, 0, 1, 2, 0], np.int32)
    (want,) = evaluate(g, *args)
    got = compile(g)(*args)
    assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got), np.signbit(want))
