"""The graph IR: dtypes, symbolic dims, tensor types, values/nodes/graphs, the primitive
set, the text form and the verifier."""
from . import primitives as _primitives  # noqa: F401  (registers the primitive set)
from .core import PRIMITIVES, Builder, Graph, Node, Primitive, Value, clone, inline
from .dims import Dim, Sym
from .dtypes import DTYPES, DType, bool_, f32, f64, i32, i64
from .printer import parse_graph, print_graph
from .substitute import substitute_dims
from .types import TensorType
from .verify import verify

__all__ = [
    "PRIMITIVES", "Builder", "Graph", "Node", "Primitive", "Value", "clone", "inline",
    "Dim", "Sym", "DTYPES", "DType", "bool_", "f32", "f64", "i32", "i64",
    "parse_graph", "print_graph", "substitute_dims", "TensorType", "verify",
]
