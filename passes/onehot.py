"""Picking by label without a one-hot: `one_hot(labels) * y` becomes gather and scatter.

`one_hot(labels, c)` lowers to `scatter_add(ones[..., 1], labels[..., None])` along a new
last axis: a dense [..., c] matrix of zeros and ones. Multiplied into a tensor and summed
over the class axis (the cross-entropy pick), it costs full passes over [..., c] to read
one entry per row; its cotangent (one-hot times a per-row value) is a dense matrix with
one nonzero per row. The patterns here replace both by what they mean:

- `sum(one_hot(l) * y, axis=k)` -> `gather(y, l, axis=k, batch_dims=k)`;
- `one_hot(l) * broadcast(a)`, `a` constant along k -> `scatter_add(a, l, ...)`;
- `sum(scatter_add(a, l, ...), axis=k)` -> `a` (one entry per row lands in range);
- `-scatter_add(a, l, ...)` -> `scatter_add(-a, l, ...)`.

The class axis k must be the last (as `one_hot` makes it); the leading axes are batch
dims of the gather. Every rewrite keeps the index rule: the one-hot's scatter and the
gather or scatter that replaces it index with the same labels, so a label outside [0, c)
raises the same DDIndexError before and after. A one-hot written as a comparison
(`y[:, None] == arange(c)`) is not rewritten: there an out-of-range label is a zero row.
"""
from __future__ import annotations

from ddc.ir import Graph, Value

from .simplify import Facts, pattern, rewrite
from .util import traced

onehot_rules: dict = {}


def one_hot_labels(facts: Facts, v: Value) -> Value | None:
    """The label column (shape [..., 1]) that `v` is the one-hot of, along its last axis,
    or None: `v` is `scatter_add(ones, labels)` with one label per row."""
    n = facts.node(v)
    if n is None or n.prim.name != "scatter_add" or not v.dtype.is_float or not _one_per_row(n, v.ndim - 1):
        return None
    updates, idx = n.inputs
    spread = facts.node(updates)
    if idx.ndim != v.ndim or spread is None or spread.prim.name != "broadcast_in_dim":
        return None
    one = facts.node(spread.inputs[0])
    if one is None or one.prim.name != "constant" or one.params["value"] != 1:
        return None
    return idx


def _split(facts: Facts, x: Value, y: Value):
    """(labels, other operand) when one of x, y is a one-hot, else None."""
    for a, b in ((x, y), (y, x)):
        labels = one_hot_labels(facts, a)
        if labels is not None:
            return labels, b
    return None


def _sum_rest(b, x: Value, axes, k: int) -> Value:
    """`x` (axis k already summed away) summed over the other `axes`."""
    rest = tuple(a for a in axes if a != k)
    return b.reduce_sum(x, axes=rest) if rest else x


@pattern("onehot", "reduce_sum", table=onehot_rules)
def _pick(b, facts, x, axes):
    n = facts.node(x)
    k = x.ndim - 1
    if n is None or k not in axes:
        return None
    if n.prim.name == "mul":
        split = _split(facts, *n.inputs)
        if split is None:
            return None
        labels, y = split
        picked = b.gather(y, labels, axis=k, batch_dims=k)
        return _sum_rest(b, b.reshape(picked, shape=tuple(labels.shape[:k])), axes, k)
    if n.prim.name == "scatter_add" and _one_per_row(n, k):
        updates = n.inputs[0]
        return _sum_rest(b, b.reshape(updates, shape=tuple(updates.shape[:k])), axes, k)
    return None


def _one_per_row(n, k: int) -> bool:
    """A scatter along the last axis k with one index per row (idx of shape [...] or
    [..., 1]): summed over k, it is its updates."""
    idx = n.inputs[1]
    return (n.params["axis"] == k and n.params["batch_dims"] == k
            and (idx.ndim == k or idx.ndim == k + 1 and idx.shape[k] == 1))


@pattern("onehot", "mul", table=onehot_rules)
def _spread(b, facts, x, y):
    split = _split(facts, x, y)
    if split is None:
        return None
    labels, other = split
    n = facts.node(other)
    k = x.ndim - 1
    if n is None or n.prim.name != "broadcast_in_dim" or k in n.params["broadcast_dimensions"]:
        return None
    row_shape = tuple(x.shape[:k]) + (1,)
    updates = b.broadcast_in_dim(n.inputs[0], shape=row_shape,
                                 broadcast_dimensions=n.params["broadcast_dimensions"])
    return b.scatter_add(updates, labels, axis=k, batch_dims=k, shape=tuple(x.shape))


@pattern("onehot", "neg", table=onehot_rules)
def _neg_scatter(b, facts, x):
    n = facts.node(x)
    if n is None or n.prim.name != "scatter_add":
        return None
    return b.scatter_add(b.neg(n.inputs[0]), n.inputs[1], **n.params)


@traced("onehot")
def onehot_to_gather(graph: Graph) -> Graph:
    return rewrite(graph, onehot_rules)
