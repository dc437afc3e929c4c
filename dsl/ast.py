"""The syntax tree of a `.dd` file, as `dsl.parser` builds it.

Every node is a frozen dataclass with a `span` (file, line, column) so the checker and the
lowering can point at the source. Nodes compare and hash by identity (`eq=False`): the
checker keys its per-expression annotations by node.
"""
from __future__ import annotations

from dataclasses import dataclass

from ddc.errors import Span

from .types import TypeSpec


# -- expressions ----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Expr:
    span: Span


@dataclass(frozen=True, eq=False)
class Name(Expr):
    id: str


@dataclass(frozen=True, eq=False)
class Number(Expr):
    value: int | float


@dataclass(frozen=True, eq=False)
class Constant(Expr):
    """`true`/`false`/`True`/`False` (a bool), `None`, or `...` (Python's Ellipsis)."""

    value: object


@dataclass(frozen=True, eq=False)
class UnaryOp(Expr):
    op: str  # "-" or "+"
    operand: Expr


@dataclass(frozen=True, eq=False)
class BinOp(Expr):
    """Arithmetic (`+ - * / ** @`) and comparisons (`< <= > >= == !=`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False)
class TupleExpr(Expr):
    """`(a, b)` or `[a, b]`: both are sequences of values (shapes, axes, arrays, in_axes)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Keyword:
    span: Span
    name: str
    value: Expr


@dataclass(frozen=True, eq=False)
class Call(Expr):
    func: Expr
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]


@dataclass(frozen=True, eq=False)
class Attribute(Expr):
    value: Expr
    attr: str


@dataclass(frozen=True, eq=False)
class Slice(Expr):
    start: Expr | None
    stop: Expr | None
    step: Expr | None


@dataclass(frozen=True, eq=False)
class Subscript(Expr):
    value: Expr
    items: tuple[Expr, ...]  # expressions, Slices and Constant(...)


# -- statements and definitions --------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Assign:
    """`x = e`, `a, b = e`, `v, (ga, gb) = e`: the target is a Name or a TupleExpr of targets."""

    span: Span
    target: Expr
    value: Expr


@dataclass(frozen=True, eq=False)
class Return:
    span: Span
    value: Expr  # a TupleExpr for `return a, b`


@dataclass(frozen=True, eq=False)
class Param:
    span: Span
    name: str
    type: TypeSpec


@dataclass(frozen=True, eq=False)
class FunctionAST:
    span: Span  # the `def` line, from `def` to the `:`
    name: str
    params: tuple[Param, ...]
    returns: tuple[TypeSpec, ...]
    returns_tuple: bool
    return_span: Span  # the return annotation
    body: tuple[Assign, ...]
    ret: Return


@dataclass(frozen=True, eq=False)
class Import:
    span: Span
    module: str


@dataclass(frozen=True, eq=False)
class FromImport:
    span: Span
    module: str
    names: tuple[tuple[str, Span], ...]


@dataclass(frozen=True, eq=False)
class ModuleAST:
    file: str
    source: str
    imports: tuple[Import | FromImport, ...]
    functions: tuple[FunctionAST, ...]
