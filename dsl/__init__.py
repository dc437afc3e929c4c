"""The `.dd` language front-end: parse (lark), check (names, dtypes, symbolic shapes),
lower (to `ir.Graph`).

    program = load("model.dd")           # or loads(source)
    fn = program.functions["mlp"]         # a FunctionDef: name, params, returns, span
    graph = program.lower(fn, ir.f32)     # verified IR, one graph per float dtype
"""
from .loader import Program, load, loads
from .program import FunctionDef, Module
from .types import FLOAT, TypeSpec

__all__ = ["load", "loads", "Program", "FunctionDef", "Module", "TypeSpec", "FLOAT"]
