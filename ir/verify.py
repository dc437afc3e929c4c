"""The verifier: SSA (each value defined once, before use), arity, params and types.

Run after every pass in tests; a pass that emits a malformed graph fails here, at the node
that is wrong, instead of as a numpy error three passes later.
"""
from __future__ import annotations

from collections.abc import Mapping

from .errors import IRError

from .core import PRIMITIVES, Graph, Primitive


def verify(g: Graph, backend: Mapping[str, Primitive] | None = None) -> Graph:
    """`g` if well formed, else an IRError at the first fault. `backend`: the private
    primitives of the backend about to run `g` (its own lowering's), also allowed."""
    known = PRIMITIVES if backend is None else {**PRIMITIVES, **backend}
    defined: set[int] = set()
    for v in g.inputs:
        if v.id in defined:
            raise IRError(f"graph {g.name}: input {v} listed twice")
        defined.add(v.id)
    for i, n in enumerate(g.nodes):
        where = f"graph {g.name}, node {i} ({n.prim.name})"
        if known.get(n.prim.name) is not n.prim:
            raise IRError(f"{where}: unregistered primitive")
        if n.prim.arity is not None and len(n.inputs) != n.prim.arity:
            raise IRError(f"{where}: takes {n.prim.arity} inputs, has {len(n.inputs)}")
        if list(n.params) != list(n.prim.params):
            raise IRError(f"{where}: params {list(n.params)}, expected {list(n.prim.params)}")
        for v in n.inputs:
            if v.id not in defined:
                raise IRError(f"{where}: input {v} is not defined before use")
        try:
            expected = n.prim.type_rule([v.type for v in n.inputs], **n.params)
        except IRError as e:
            raise IRError(f"{where}: {e.message}") from None
        if expected != n.out.type:
            raise IRError(f"{where}: output typed {n.out.type}, rule gives {expected}")
        if n.out.id in defined:
            raise IRError(f"{where}: output {n.out} defined twice")
        defined.add(n.out.id)
    for v in g.outputs:
        if v.id not in defined:
            raise IRError(f"graph {g.name}: output {v} is not defined")
    return g
