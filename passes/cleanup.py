"""The cleanups every transform ends with: cse, simplify, dce, to a fixed point."""
from __future__ import annotations

from ddc.ir import Graph

from .cse import cse
from .dce import dce
from .simplify import simplify


def cleanup(graph: Graph, rounds: int = 4) -> Graph:
    for _ in range(rounds):
        before = len(graph.nodes)
        graph = dce(simplify(cse(graph)))
        if len(graph.nodes) == before:
            break
    return graph
