"""The cleanups every transform ends with: cse, simplify, dce, to a fixed point."""
from __future__ import annotations

from ddc.ir import Graph

from .cse import cse
from .dce import dce
from .simplify import simplify


def cleanup(graph: Graph, rounds: int = 4) -> Graph:
    for _ in range(rounds):
        merged = cse(graph)
        simplified = simplify(merged)
        graph = dce(simplified)
        # a fixed point unless simplify rewrote something or dce dropped a use (patterns
        # that need a value used once may match now)
        if _same(merged, simplified) and len(graph.nodes) == len(simplified.nodes):
            break
    return graph


def _same(a: Graph, b: Graph) -> bool:
    """Nothing changed: the passes keep every node they do not rewrite (`Node.with_inputs`),
    so an unchanged graph has the very same nodes and outputs."""
    return (len(a.nodes) == len(b.nodes) and all(x is y for x, y in zip(a.nodes, b.nodes))
            and all(x is y for x, y in zip(a.outputs, b.outputs)))
