"""Compile time against program size: a long chain of layers, generated as .dd text.

`chain_source(k)` is k layers `h = tanh(h @ W + b)` sharing W and b, summed at the end;
`compile_time(k)` times source text -> callable gradient (w.r.t. W and b), split into the
stages of the pipeline, and counts the nodes of the forward graph.
"""
from __future__ import annotations

import time


def chain_source(layers: int) -> str:
    lines = ["def f(x: f32[n, d], W: f32[d, d], b: f32[d]) -> f32:", "    h = x"]
    lines += ["    h = tanh(h @ W + b)"] * layers
    lines.append("    return sum(h)")
    return "\n".join(lines) + "\n"


def compile_time(layers: int) -> dict:
    import ddc

    source = chain_source(layers)
    t0 = time.perf_counter()
    module = ddc.loads(source)
    t1 = time.perf_counter()
    grad = ddc.grad(module.f, argnums=(1, 2))
    graph = grad.graph
    t2 = time.perf_counter()
    grad.compiled()
    t3 = time.perf_counter()
    nodes = len(module.f.graph.nodes)
    return {"layers": layers, "nodes": nodes, "grad_nodes": len(graph.nodes),
            "load_ms": (t1 - t0) * 1e3, "grad_ms": (t2 - t1) * 1e3,
            "codegen_ms": (t3 - t2) * 1e3, "total_ms": (t3 - t0) * 1e3,
            "us_per_node": (t3 - t0) * 1e6 / nodes}
