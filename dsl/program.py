"""A loaded program: modules and the functions defined in them."""
from __future__ import annotations

from pathlib import Path

from . import ast
from .types import FLOAT


class FunctionDef:
    """One `def`, as parsed: its signature (`params`, each with `.name`, `.type`, `.span`;
    `returns`, a list of TypeSpecs; `returns_tuple`) and its `ast`. Plain data: what the
    checker and the lowering learn about it is kept by the loader (`dsl.library`)."""

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
