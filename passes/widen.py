"""`widen(graph)`: the same program with every float computed in f64.

A graph is specialised per float dtype; this re-specialises an f32 one (a `.dd` function
typed `f32`, or any mix of f32 and f64) at f64: inputs, intermediate values, and the
dtypes that `convert`, `constant` and `iota` name. What it is for: checking derivatives
numerically (`ddc.testing.check_grads`) needs f64's precision, and it must check the
program's own derivatives, not a looser comparison in f32.
"""
from __future__ import annotations

from ddc.ir import Builder, DType, Graph, Value, f64

from .util import traced


def _widened(value, to: DType):
    return to if isinstance(value, DType) and value.is_float else value


@traced("widen")
def widen(graph: Graph, to: DType = f64) -> Graph:
    b = Builder()
    env: dict[int, Value] = {}
    inputs = []
    for v in graph.inputs:
        new = Value(v.type.with_dtype(to) if v.dtype.is_float else v.type, v.name, v.origin)
        env[v.id] = new
        inputs.append(new)
    for node in graph.nodes:
        b.span = node.span
        params = {k: _widened(p, to) for k, p in node.params.items()}
        args = [env[v.id] for v in node.inputs]
        if node.prim.name == "convert" and args[0].dtype == params["dtype"]:
            env[node.out.id] = args[0]  # an f32 <-> f64 convert: nothing to do at f64
            continue
        out = b.bind(node.prim, *args, **params)
        out.name, out.origin = node.out.name, node.out.origin
        env[node.out.id] = out
    return b.graph(inputs, [env.get(v.id, v) for v in graph.outputs], graph.name)
