"""Backends: `compile_graph(graph, backend)` -> a callable with `.source`.

numpy (`codegen/numpy/`) runs anywhere; triton (`codegen/triton/`) emits fused GPU
kernels and, without a GPU, runs them under TRITON_INTERPRET=1. Both start from the
shared pipeline (`passes.optimize`), share `codegen/common/`, and never import each other.
"""
from __future__ import annotations

BACKENDS = ("numpy", "triton")


def compile_graph(graph, backend: str = "numpy"):
    if backend == "numpy":
        from .numpy import backend as numpy_backend

        return numpy_backend.compile(graph)
    if backend == "triton":
        from .triton import backend as triton_backend

        return triton_backend.compile(graph)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
