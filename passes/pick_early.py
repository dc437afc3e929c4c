"""Pick before computing: `gather(op(x, bcast(r)), idx)` becomes `op(gather(x, idx), r')`.

A cross-entropy written as `log_softmax(z)[i, label[i]]` computes the whole [n, c] log
softmax, `shifted - lse`, to read one entry per row. When the elementwise op feeding a
gather has one full operand and every other operand is constant along the gathered axis
(a broadcast that does not map onto it), the gather moves onto the full operand and the
others are broadcast to the picked shape instead: one full pass fewer, same numbers (each
picked element is the same operation on the same operands). Only an op whose one use is
the gather is rewritten, so nothing is computed twice.
"""
from __future__ import annotations

from ddc.ir import Graph

from .patterns import pattern, rewrite
from .util import traced

pick_rules: dict = {}


@pattern("pick", "gather", table=pick_rules)
def _gather_first(b, facts, x, idx, axis, batch_dims):
    op = facts.node(x)
    if op is None or not op.prim.elementwise or not facts.used_once(x):
        return None
    full, spread = [], {}
    for i, v in enumerate(op.inputs):
        n = facts.node(v)
        if n is not None and n.prim.name == "broadcast_in_dim" and _constant_along(n, axis):
            spread[i] = n
        else:
            full.append(i)
    if len(full) != 1:
        return None
    out_shape = tuple(x.shape[:axis]) + tuple(idx.shape[batch_dims:]) + tuple(x.shape[axis + 1:])
    shift = idx.ndim - batch_dims - 1  # output dims after `axis` move by this much
    args = []
    for i, v in enumerate(op.inputs):
        if i not in spread:
            args.append(b.gather(v, idx, axis=axis, batch_dims=batch_dims))
            continue
        n = spread[i]
        source, dims = n.inputs[0], n.params["broadcast_dimensions"]
        keep = [j for j, d in enumerate(dims) if d != axis]  # a size-1 dim stretched along axis goes
        if len(keep) < source.ndim:
            source = b.reshape(source, shape=tuple(source.shape[j] for j in keep))
        dims = tuple(dims[j] if dims[j] < axis else dims[j] + shift for j in keep)
        args.append(b.broadcast_in_dim(source, shape=out_shape, broadcast_dimensions=dims))
    return b.bind(op.prim, *args, **op.params)


def _constant_along(n, axis: int) -> bool:
    """The broadcast's value does not vary along `axis`: no operand dim maps there, or
    one of size 1 does."""
    dims = n.params["broadcast_dimensions"]
    return axis not in dims or n.inputs[0].shape[dims.index(axis)] == 1


@traced("pick_early")
def pick_early(graph: Graph) -> Graph:
    return rewrite(graph, pick_rules)
