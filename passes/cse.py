"""Common-subexpression elimination: one node per (primitive, inputs, params)."""
from __future__ import annotations

from ddc.ir import Graph, Node, Value

from .util import traced

# Inputs of these are put in a canonical order, so `x*y` and `y*x` are one node.


def _key(node: Node) -> tuple:
    prim, ids, params = node.key()
    symmetric = node.prim.commutative or (
        node.prim.name == "compare" and node.params["direction"] in ("eq", "ne"))
    return prim, tuple(sorted(ids)) if symmetric else ids, params


@traced("cse")
def cse(graph: Graph) -> Graph:
    seen: dict[tuple, Value] = {}
    env: dict[int, Value] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        inputs = [env.get(v.id, v) for v in node.inputs]
        fresh = node.with_inputs(inputs)
        key = _key(fresh)
        if key in seen:
            env[node.out.id] = seen[key]
            continue
        seen[key] = node.out
        nodes.append(fresh)
    outputs = [env.get(v.id, v) for v in graph.outputs]
    return Graph(list(graph.inputs), nodes, outputs, graph.name)
