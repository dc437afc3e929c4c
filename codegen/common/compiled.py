"""`CompiledGraph`: what every backend hands back. The graph, the source it became, the
function that source defines, its table of call-time checks, and the arity check made
before calling it. A failed check (the runtime's `IndexFault`, which carries only its
position in the table) becomes a `DDIndexError` at the span of the indexing expression."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ddc.ir import Graph
from ddc.ir.requirements import index_error

from .runtime import ArgumentError, IndexFault


class CompiledGraph:
    def __init__(self, graph: Graph, source: str, fn: Callable, checks: Sequence = ()):
        self.graph = graph
        self.source = source
        self.fn = fn
        self.checks = list(checks)
        self._arity = len(graph.dim_params()) + len(graph.inputs)  # dims are passed first

    def __call__(self, *args):
        if len(args) != self._arity:
            raise ArgumentError(f"{self.graph.name} takes {self._arity} arguments, got {len(args)}")
        try:
            return self.run(*args)
        except IndexFault as fault:
            raise index_error(self.checks[fault.check], fault.detail) from None

    def run(self, *args):
        """Call the generated function; a backend may wrap it (see TritonFunction)."""
        return self.fn(*args)

