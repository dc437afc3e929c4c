"""What the checker hands to the lowering, per function: the type of each expression and a
plan for each operation, written in the function's own dims and `float`, which the
lowering binds per call. Plain data: the checker makes it, the loader keeps it
(`dsl.library`), the lowering reads it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from . import ast
from .types import Tensor


@dataclass(frozen=True)
class Apply:
    """Lower with `lower` (a builtin's or indexing's), given the argument expressions."""

    lower: Callable
    args: dict[str, ast.Expr]
    plan: Any


@dataclass(frozen=True)
class UserCall:
    """Call a function reference: lower it to a graph at `arg_types`, inline it."""

    ref: Any
    args: tuple[ast.Expr, ...]
    arg_types: tuple[Tensor, ...]  # after binding constants to the parameters' dtypes


@dataclass(frozen=True)
class TupleItem:
    index: int


@dataclass
class FunctionInfo:
    types: dict = field(default_factory=dict)  # expression -> Tensor, tuple, dtype, ref, ...
    plans: dict = field(default_factory=dict)  # expression -> Apply | UserCall | TupleItem
    calls: list = field(default_factory=list)  # (FunctionDef, span): for the recursion check
