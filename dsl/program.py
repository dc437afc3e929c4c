"""A loaded program: modules and the functions defined in them."""
from __future__ import annotations

from pathlib import Path

from ddc.errors import DDTypeError
from ddc.ir import Graph
from ddc.ir.dtypes import DType, f32, f64
from ddc.ir.types import TensorType

from . import ast
from .types import FLOAT, resolve


class FunctionDef:
    """One `def`: its signature (`params`, each with `.name`, `.type`, `.span`; `returns`, a
    list of TypeSpecs; `returns_tuple`) and, once checked, `info` (see dsl.check).
    `lower(float_dtype)` gives its IR graph."""

    def __init__(self, tree: ast.FunctionAST, module: Module):
        self.ast = tree
        self.module = module
        self.name = tree.name
        self.span = tree.span
        self.params = list(tree.params)
        self.returns = list(tree.returns)
        self.returns_tuple = tree.returns_tuple
        # `float` anywhere in the signature makes the function generic over f32/f64
        self.generic = any(t.dtype == FLOAT for t in [p.type for p in self.params] + self.returns)
        self.info = None
        self.graphs: dict = {}  # (argument types, float dtype) -> Graph, filled by dsl.lower

    def lower(self, float_dtype: DType = f32) -> Graph:
        """The IR graph: inputs in parameter order (named after them), outputs in return
        order, named after the function. A generic function is lowered once per float dtype;
        one without `float` in its signature is the same graph for either."""
        from .lower import lower_function  # lower -> check -> program: import when first used

        if float_dtype not in (f32, f64):
            raise DDTypeError(f"float_dtype must be f32 or f64, got {float_dtype}")
        binding = float_dtype if self.generic else f32
        arg_types = [TensorType(resolve(p.type.dtype, binding), p.type.dims) for p in self.params]
        try:
            return lower_function(self, arg_types, binding)
        except RecursionError:
            # expressions nest at most MAX_NESTING levels, so it is calls: each is lowered
            # (recursively) and inlined
            raise DDTypeError(f"{self.name} calls functions that call functions too deeply to inline",
                              self.span, hint="shorten the chain of calls, e.g. by merging functions") from None

    def __repr__(self) -> str:
        params = ", ".join(f"{p.name}: {p.type}" for p in self.params)
        returns = ", ".join(map(str, self.returns))
        return f"<ddc function {self.name}({params}) -> {f'({returns})' if self.returns_tuple else returns}>"


class Module:
    """A `.dd` file. `functions` are its own; `namespace` is what names in its functions
    can refer to: its functions, imported functions and imported modules."""

    def __init__(self, name: str, path: Path | None, tree: ast.ModuleAST):
        self.name = name
        self.path = path
        self.ast = tree
        self.functions: dict[str, FunctionDef] = {}
        self.namespace: dict[str, FunctionDef | Module] = {}

    def __repr__(self) -> str:
        return f"<ddc module {self.name} ({', '.join(self.functions)})>"
