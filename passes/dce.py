"""Dead-code elimination: keep only the nodes an output depends on."""
from __future__ import annotations

from ddc.ir import Graph

from .util import traced


@traced("dce")
def dce(graph: Graph) -> Graph:
    return Graph(list(graph.inputs), graph.live_nodes(), list(graph.outputs), graph.name)
