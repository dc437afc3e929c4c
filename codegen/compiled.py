"""`CompiledGraph`: what every backend hands back. The graph, the source it became, the
function that source defines, and the arity check made before calling it."""
from __future__ import annotations

from typing import Callable

from ddc.ir import Graph

from .numpy_runtime import ArgumentError


class CompiledGraph:
    def __init__(self, graph: Graph, source: str, fn: Callable):
        self.graph = graph
        self.source = source
        self.fn = fn
        self._arity = len(graph.inputs)

    def __call__(self, *args):
        if len(args) != self._arity:
            raise ArgumentError(f"{self.graph.name} takes {self._arity} arguments, got {len(args)}")
        return self.run(*args)

    def run(self, *args):
        """Call the generated function; a backend may wrap it (see TritonFunction)."""
        return self.fn(*args)
