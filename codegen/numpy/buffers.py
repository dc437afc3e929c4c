"""Which temporaries a generated numpy function frees, and which it overwrites in place.

Allocating a large array costs more than filling it: the kernel maps fresh pages and
faults each one in on first touch. So an elementwise node whose input dies at that node,
and has the output's exact type, writes its result into that input (`np.exp(t, out=t)`)
instead of allocating. This module tracks, for every value, the buffer its memory belongs
to, so that a buffer is overwritten only when no other live value can see it:

- a fresh result (a ufunc, a matmul, a reduction...) owns a new writable buffer;
- views (`reshape`, `transpose`, `slice`, `stop_gradient`) share their input's buffer;
- broadcasts (`broadcast_in_dim`, `iota`) are read-only views, possibly smaller than their
  type says, and never written;
- arguments belong to the caller and are never written.

`reshape` of a non-contiguous array copies in numpy; treating it as a view only forgoes a
reuse, never corrupts a value.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ddc.ir.core import Graph, Node, Value



def dying_after(graph: Graph) -> dict[int, list[Value]]:
    """Node index -> the non-scalar temporaries whose last use is that node (to `del`)."""
    last: dict[int, int] = {}
    values = {}
    for i, n in enumerate(graph.nodes):
        last[n.out.id] = i
        values[n.out.id] = n.out
        for v in n.inputs:
            if v.id in last:
                last[v.id] = i
    kept = {v.id for v in graph.outputs}
    dying: dict[int, list[Value]] = {}
    for vid, i in last.items():
        if vid not in kept and values[vid].ndim > 0:
            dying.setdefault(i, []).append(values[vid])
    return dying


@dataclass
class BufferPlan:
    dying: dict[int, list[Value]]  # node index -> values to `del` after it
    overwrite: dict[int, Value]  # node index -> the input it writes its result into
    buffer: dict[int, int | None]  # value id -> the buffer its memory is in (None: not ours)


def plan_buffers(graph: Graph, in_place: Callable[[Node], Sequence[Value]],
                 owned: Sequence[Value] = ()) -> BufferPlan:
    """`in_place(node)`: the inputs the node's lowering can write its result into.
    `owned`: graph inputs whose buffers the graph may overwrite (not the caller's)."""
    dying = dying_after(graph)
    own = {v.id for v in owned}
    last_use = {v.id: i for i, n in enumerate(graph.nodes) for v in n.inputs if v.id in own}
    buffer: dict[int, int | None] = {v.id: v.id if v.id in own else None for v in graph.inputs}
    holders: dict[object, set[int]] = {v.id: {v.id} for v in graph.inputs if v.id in own}
    writable: set[int] = set(own)  # values that are full, writable arrays of their own type
    overwrite: dict[int, Value] = {}

    for i, node in enumerate(graph.nodes):
        out = node.out
        dies_here = {v.id for v in dying.get(i, ())} | {v for v, at in last_use.items() if at == i}
        target = None
        if out.ndim > 0:
            target = next((v for v in in_place(node) if v.id in writable and v.id in dies_here
                           and v.type == out.type and holders[buffer[v.id]] == {v.id}), None)
        if target is not None:
            overwrite[i] = target
            buffer[out.id] = buffer[target.id]
            writable.add(out.id)
        elif node.prim.view or node.prim.broadcast:
            source = node.inputs[0] if node.inputs else None
            buffer[out.id] = None if source is None else buffer[source.id]
            if node.prim.view and source is not None and source.id in writable:
                writable.add(out.id)
        else:
            buffer[out.id] = out.id
            if out.ndim > 0:
                writable.add(out.id)
        if buffer[out.id] is not None:
            holders.setdefault(buffer[out.id], set()).add(out.id)
        for vid in dies_here:
            if buffer.get(vid) is not None:
                holders[buffer[vid]].discard(vid)
    return BufferPlan(dying, overwrite, buffer)
