"""What loading learned about functions, kept by the loader beside the plain `FunctionDef`s:
each function's checked `FunctionInfo`, and its lowered graphs, one per argument types.

A load owns the library of its own functions; it falls back to the process-wide library of
the stdlib, whose modules are loaded once per process (`dsl.loader`). Each function's
graphs are bounded (`MAX_GRAPHS_PER_FUNCTION`), since a stdlib function lives as long as
the process.
"""
from __future__ import annotations

from collections.abc import Hashable

from ddc.ir import Graph

from .checked import FunctionInfo
from .program import FunctionDef

MAX_GRAPHS_PER_FUNCTION = 256  # distinct argument types cached per function


class Library:
    def __init__(self, fallback: Library | None = None):
        self.fallback = fallback
        self.infos: dict[FunctionDef, FunctionInfo] = {}
        self.graphs: dict[FunctionDef, dict[Hashable, Graph]] = {}

    def owner(self, fn: FunctionDef) -> Library:
        if fn in self.infos or self.fallback is None:
            return self
        return self.fallback.owner(fn)

    def info(self, fn: FunctionDef) -> FunctionInfo:
        return self.owner(fn).infos[fn]

    def add(self, infos: dict[FunctionDef, FunctionInfo]) -> None:
        self.infos.update(infos)

    def cached_graph(self, fn: FunctionDef, key: Hashable) -> Graph | None:
        """`fn`'s graph for `key` (its argument types and float), if lowered before."""
        return self.owner(fn).graphs.get(fn, {}).get(key)

    def keep_graph(self, fn: FunctionDef, key: Hashable, graph: Graph) -> Graph:
        cached = self.owner(fn).graphs.setdefault(fn, {})
        if len(cached) >= MAX_GRAPHS_PER_FUNCTION:
            cached.clear()
        cached[key] = graph
        return graph
