"""Renaming symbolic dims throughout a graph (e.g. a vmap batch dim `B` -> the size `n*d`
of a basis), rebuilding every node so the type rules re-check the result."""
from __future__ import annotations

from collections.abc import Mapping

from . import dims as D
from .core import Builder, Graph, Value
from .types import TensorType


def substitute_dims(graph: Graph, mapping: Mapping[str, D.Dim]) -> Graph:
    b = Builder()
    inputs = [
        Value(TensorType(v.dtype, tuple(D.substitute(d, mapping) for d in v.shape)), v.name, v.origin)
        for v in graph.inputs
    ]
    env = {old.id: new for old, new in zip(graph.inputs, inputs)}
    for n in graph.nodes:
        b.span = n.span
        out = b.bind(n.prim, *[env[v.id] for v in n.inputs],
                     **{k: D.map_param(p, lambda d: D.substitute(d, mapping))
                        for k, p in n.params.items()})
        out.name, out.origin = n.out.name, n.out.origin
        env[n.out.id] = out
    return b.graph(inputs, [env[v.id] for v in graph.outputs], graph.name)
