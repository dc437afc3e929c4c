"""Elementwise work on broadcasts happens before broadcasting: `op(bcast(a), bcast(b))`
becomes `bcast(op(a, b))`.

Autodiff leaves such nodes behind (the cotangent of a mean is a broadcast scalar, and
`ct + ct` of a broadcast row is a full matrix of sums of two row values); evaluated as
written, each is a full-size pass over memory. Evaluated on the operands before they are
broadcast, the same values cost a pass over the small ones. Exact: every element is the
same operation on the same numbers.
"""
from __future__ import annotations

from ddc.ir import Graph, PRIMITIVES

from .patterns import pattern, rewrite
from .util import traced

hoist_rules: dict = {}


def _hoist(name):
    def hoist(b, facts, *xs, **params):
        nodes = [facts.node(x) for x in xs]
        if any(n is None or n.prim.name != "broadcast_in_dim" for n in nodes):
            return None
        first = nodes[0]
        sources = [n.inputs[0] for n in nodes]
        if any(n.params != first.params or s.shape != sources[0].shape for n, s in zip(nodes, sources)):
            return None
        inner = b.bind(name, *sources, **params)
        return b.broadcast_in_dim(inner, **first.params)

    return hoist


for _name, _prim in PRIMITIVES.items():
    if _prim.elementwise and _name != "stop_gradient":
        pattern("hoist", _name, table=hoist_rules)(_hoist(_name))


@traced("hoist_broadcasts")
def hoist_broadcasts(graph: Graph) -> Graph:
    return rewrite(graph, hoist_rules)
