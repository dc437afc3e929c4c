"""Picking by label: the one rewrite of a label pick that is exact for every input.

- `sum(scatter_add(a, l, ...), axis=k)` -> `a + 0.0` (one entry per row lands in range:
  the row is +0.0 everywhere but `0.0 + a` at the label, and its sum is `a + 0.0`);
- `sum(-scatter_add(a, l, ...), axis=k)` -> `-(a + 0.0) + 0.0` (the row is -0.0 but at
  the label, and a sum starts at +0.0): cross-entropy's gradient, without an [n, c] array.

The class axis k must be the last; the leading axes are batch dims. The labels must be a
graph input (or an iota or constant), which `ir.requirements` checks at call time
whatever the rewrites leave; a computed index is checked where it is used, so its
scatter stays.

`one_hot(l, c)` lowers to `scatter_add(ones, l)` along a new last axis. Rewrites of it
that look right but change numbers are not made (each is a test in
tests/passes/test_onehot.py): `sum(one_hot(l) * y, axis=k)` as `gather(y, l)` (an inf or
NaN of y in another class makes the sum NaN, and a picked -0.0 sums to +0.0),
`one_hot(l) * broadcast(a)` as `scatter_add(a, l)` (0 * a is -0.0 for a < 0 and NaN for
a = inf, the scatter's zeros +0.0), and `-scatter_add(a, l)` as `scatter_add(-a, l)`
(-(0.0) is -0.0) where it is not summed over the labels' axis.
"""
from __future__ import annotations

from ddc.ir import Graph, Value
from ddc.ir.requirements import index_root

from .patterns import pattern, rewrite
from .util import traced

onehot_rules: dict = {}


def _sum_rest(b, x: Value, axes, k: int) -> Value:
    """`x` (axis k already summed away) summed over the other `axes`."""
    rest = tuple(a for a in axes if a != k)
    return b.reduce_sum(x, axes=rest) if rest else x


@pattern("onehot", "reduce_sum", table=onehot_rules)
def _pick(b, facts, x, axes):
    k = x.ndim - 1
    if k not in axes:
        return None
    made = facts.node(x)
    picked = _picked(b, facts, made, k)
    if picked is None and made is not None and made.prim.name == "neg":
        picked = _picked(b, facts, facts.node(made.inputs[0]), k)
        if picked is not None:
            # the row is -0.0 everywhere but -(0.0 + a) at the label, and a sum starts at
            # +0.0: -(a + 0.0) + 0.0 (which is -a but at a = ±0, where it is +0.0)
            picked = b.neg(picked)
            if picked.dtype.is_float:
                picked = b.add(picked, b.zeros(picked.type))
    return None if picked is None else _sum_rest(b, picked, axes, k)


def _picked(b, facts, n, k: int):
    """The row sums over k of scatter node `n`, `a + 0.0`, where it puts one update per
    row at labels checked at call time; else None."""
    if n is None or n.prim.name != "scatter_add" or not _one_per_row(n, k):
        return None
    _, made_by = index_root(n.inputs[1], facts.producer)
    if made_by is not None and made_by.prim.name not in ("iota", "constant"):
        return None  # a computed index is checked where it is used: the scatter stays
    updates = b.reshape(n.inputs[0], shape=tuple(n.inputs[0].shape[:k]))
    if updates.dtype.is_float:
        updates = b.add(updates, b.zeros(updates.type))
    return updates


def _one_per_row(n, k: int) -> bool:
    """A scatter along the last axis k with one index per row (idx of shape [...] or
    [..., 1]): summed over k, it is its updates."""
    idx = n.inputs[1]
    return (n.params["axis"] == k and n.params["batch_dims"] == k
            and (idx.ndim == k or idx.ndim == k + 1 and idx.shape[k] == 1))


@traced("onehot")
def onehot_to_gather(graph: Graph) -> Graph:
    return rewrite(graph, onehot_rules)
