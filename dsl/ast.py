"""The syntax tree of a `.dd` file, as `dsl.parser` builds it.

Every node is a frozen dataclass with a `span` (file, line, column) so the checker and the
lowering can point at the source. Nodes compare and hash by identity (`eq=False`): the
checker keys its per-expression annotations by node.
"""
from __future__ import annotations

from dataclasses import dataclass

from ddc.errors import Span

from .types import TypeSpec

node = dataclass(frozen=True, eq=False)


# -- expressions ----------------------------------------------------------------------------

@node
class Expr:
    span: Span


@node
class Name(Expr):
    id: str


@node
class Number(Expr):
    value: int | float


@node
class Constant(Expr):
    """`true`/`false`/`True`/`False` (a bool), `None`, or `...` (Python's Ellipsis)."""

    value: object


@node
class UnaryOp(Expr):
    op: str  # "-" or "+"
    operand: Expr


@node
class BinOp(Expr):
    """Arithmetic (`+ - * / ** @`) and comparisons (`< <= > >= == !=`)."""

    op: str
    left: Expr
    right: Expr


@node
class TupleExpr(Expr):
    """`(a, b)` or `[a, b]`: both are sequences of values (shapes, axes, arrays, in_axes)."""

    items: tuple[Expr, ...]


@node
class Keyword:
    span: Span
    name: str
    value: Expr


@node
class Call(Expr):
    func: Expr
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]


@node
class Attribute(Expr):
    value: Expr
    attr: str


@node
class Slice(Expr):
    start: Expr | None
    stop: Expr | None
    step: Expr | None


@node
class Subscript(Expr):
    value: Expr
    items: tuple[Expr, ...]  # expressions, Slices and Constant(...)


# -- statements and definitions --------------------------------------------------------------

@node
class Assign:
    """`x = e`, `a, b = e`, `v, (ga, gb) = e`: the target is a Name or a TupleExpr of targets."""

    span: Span
    target: Expr
    value: Expr


@node
class Return:
    span: Span
    value: Expr  # a TupleExpr for `return a, b`


@node
class Param:
    span: Span
    name: str
    type: TypeSpec


@node
class FunctionAST:
    span: Span  # the `def` line, from `def` to the `:`
    name: str
    params: tuple[Param, ...]
    returns: tuple[TypeSpec, ...]
    returns_tuple: bool
    return_span: Span  # the return annotation
    body: tuple[Assign, ...]
    ret: Return


@node
class Import:
    span: Span
    module: str


@node
class FromImport:
    span: Span
    module: str
    names: tuple[tuple[str, Span], ...]


@node
class ModuleAST:
    file: str
    source: str
    imports: tuple[Import | FromImport, ...]
    functions: tuple[FunctionAST, ...]
