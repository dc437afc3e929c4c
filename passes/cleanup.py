"""The cleanups every transform ends with: cse, simplify, dce, to a fixed point.

Each round runs the three once; a round in which simplify rewrites nothing and dce drops
nothing is a fixed point (cse merges everything it can in one pass, so the next round's
cse would change nothing either). Rounds run out quickly (three at most for the transforms
of the stdlib and benchmark workloads); `MAX_ROUNDS` only bounds a bug, two rewrites that
undo each other, and reaching it raises.
"""
from __future__ import annotations

from ddc.ir import Graph

from .cse import cse
from .dce import dce
from .simplify import simplify

MAX_ROUNDS = 64


def cleanup(graph: Graph) -> Graph:
    for _ in range(MAX_ROUNDS):
        merged = cse(graph)
        simplified = simplify(merged)
        graph = dce(simplified)
        # a fixed point unless simplify rewrote something or dce dropped a use (rules
        # that need a value used once may match now)
        if _same(merged, simplified) and len(graph.nodes) == len(simplified.nodes):
            return graph
    raise RuntimeError(f"cleanup of graph {graph.name}: no fixed point after {MAX_ROUNDS} rounds "
                       f"(two rewrites undo each other)")


def _same(a: Graph, b: Graph) -> bool:
    """Nothing changed: the passes keep every node they do not rewrite (`Node.with_inputs`),
    so an unchanged graph has the very same nodes and outputs."""
    return (len(a.nodes) == len(b.nodes) and all(x is y for x, y in zip(a.nodes, b.nodes))
            and all(x is y for x, y in zip(a.outputs, b.outputs)))
