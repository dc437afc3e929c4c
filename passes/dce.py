"""Dead-code elimination: keep only the nodes an output depends on."""
from __future__ import annotations

from ddc.ir import Graph

from .util import traced


@traced("dce")
def dce(graph: Graph) -> Graph:
    live = {v.id for v in graph.outputs}
    kept = []
    for node in reversed(graph.nodes):
        if node.out.id in live:
            kept.append(node)
            live.update(v.id for v in node.inputs)
    return Graph(list(graph.inputs), kept[::-1], list(graph.outputs), graph.name)
