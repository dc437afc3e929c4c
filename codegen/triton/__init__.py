"""The Triton backend: a graph, after the shared pipeline (`passes.optimize`), is cut into
kernels (`partition`), each written as one `@triton.jit` function, launched in order by
a host function (`emit`); `runtime` holds what the generated code calls."""
from __future__ import annotations

from .emit import TritonFunction, compile, module_body, module_source, runtime_source
from .rules import triton_rules

__all__ = ["TritonFunction", "compile", "module_body", "module_source", "runtime_source", "triton_rules"]
