"""The `.dd` language front-end: parse (lark), check (names, dtypes, symbolic shapes),
lower (to `ir.Graph`).

    module = load("model.dd")            # or loads(source)
    fn = module.functions["mlp"]          # a FunctionDef: name, params, returns, span
    graph = fn.lower(ir.f32)              # verified IR, one graph per float dtype
"""
from .loader import load, loads
from .program import FunctionDef, Module
from .types import FLOAT, TypeSpec

__all__ = ["load", "loads", "FunctionDef", "Module", "TypeSpec", "FLOAT"]
