"""Graph rewrites that only the numpy backend makes, just before it writes source.

- the optimisation passes that pay off when evaluating with numpy (`OPTIMIZATIONS`), run
  on a copy: the caller's graph, and what `.ir` shows, are unchanged;
- `fuse(graph)`: node pairs that one numpy call does better are merged into a node of a
  backend-private primitive, which only this backend's rule table knows. Today one pair:
  `add(x, scatter_add(u, idx))` where the scatter has no other use becomes
  `add_scatter(x, u, idx)`, lowered to `np.add.at` into x (in place when x dies there),
  instead of a zero matrix, a scatter into it and a full-size add.
"""
from __future__ import annotations

from ddc.ir.core import Graph, Node, Primitive
from ddc.passes.dce import dce
from ddc.passes.onehot import onehot_to_gather
from ddc.passes.sum_of_products import sum_of_products

OPTIMIZATIONS = (onehot_to_gather, sum_of_products, dce)


def optimize(graph: Graph) -> Graph:
    for p in OPTIMIZATIONS:
        graph = p(graph)
    return graph


ADD_SCATTER = Primitive("add_scatter", lambda ts, **p: ts[0], ("axis", "batch_dims"), arity=3)


def _uses(graph: Graph) -> dict[int, int]:
    count: dict[int, int] = {v.id: 1 for v in graph.outputs}
    for n in graph.nodes:
        for v in n.inputs:
            count[v.id] = count.get(v.id, 0) + 1
    return count


def fuse(graph: Graph) -> Graph:
    uses = _uses(graph)
    producer = {n.out.id: n for n in graph.nodes}
    fused: set[int] = set()  # ids of scatter nodes folded into their add
    nodes: list[Node] = []
    for n in graph.nodes:
        if n.prim.name == "add":
            for dense, other in (n.inputs, reversed(n.inputs)):
                s = producer.get(other.id)
                if s is not None and s.prim.name == "scatter_add" and uses[other.id] == 1 and dense is not other:
                    fused.add(id(s))
                    params = {"axis": s.params["axis"], "batch_dims": s.params["batch_dims"]}
                    nodes.append(Node(ADD_SCATTER, [dense, *s.inputs], params, n.out, n.span))
                    break
            else:
                nodes.append(n)
            continue
        nodes.append(n)
    nodes = [n for n in nodes if id(n) not in fused]
    return Graph(graph.inputs, nodes, graph.outputs, graph.name)


def _add_scatter(site, x, updates, idx, axis, batch_dims):
    return f"scatter_add_into(np.array({x}), {updates}, {idx}, {axis}, {batch_dims})"


fused_rules = {"add_scatter": _add_scatter}
