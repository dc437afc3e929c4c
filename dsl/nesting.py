"""How deeply an expression nests, and the limit on it.

The checker and the lowering walk expressions recursively, so their depth is bounded by
Python's recursion limit. Rather than fail somewhere in the middle with a RecursionError,
the parser measures every expression (iteratively) and rejects one nested more than
`MAX_NESTING` levels, pointing at it. Python itself stops at 200 nested parentheses.

Long chains of a left-associative operator (`a + b + c + ...`, thousands of terms) are
not nesting: the checker and the lowering walk such a chain iteratively (`left_spine`),
so a chain's length costs time linear in it and no depth. Only its right operands count.
"""
from __future__ import annotations

from dataclasses import fields

from ddc.errors import DDSyntaxError

from . import ast

MAX_NESTING = 100


def left_spine(e: ast.Expr, done) -> list[ast.BinOp]:
    """The binary operations down `e`'s left operands, innermost first (`e` excluded),
    stopping above the first one in `done` (already handled)."""
    spine = []
    while isinstance(e, ast.BinOp) and isinstance(e.left, ast.BinOp) and e.left not in done:
        e = e.left
        spine.append(e)
    spine.reverse()
    return spine


def _children(e) -> list[tuple[ast.Expr, int]]:
    """(child, how much deeper it is) for each sub-expression of `e`."""
    out = []
    for f in fields(e):
        value = getattr(e, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, ast.Keyword):
                item = item.value
            if isinstance(item, ast.Expr):
                out.append((item, 0 if isinstance(e, ast.BinOp) and item is e.left else 1))
    return out


def depth(e: ast.Expr) -> int:
    """Levels of recursion the checker needs for `e`, computed without recursion."""
    depths: dict[int, int] = {}
    stack: list[tuple[ast.Expr, bool]] = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        children = _children(node)
        if expanded:
            depths[id(node)] = 1 + max((depths[id(c)] + extra - 1 for c, extra in children), default=0)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c, _ in children)
    return depths[id(e)]


def check_nesting(tree: ast.ModuleAST) -> None:
    for fn in tree.functions:
        for stmt in fn.body + (fn.ret,):
            for e in (stmt.value, getattr(stmt, "target", None)):  # `((a, b), c) = ...` nests too
                if e is not None and depth(e) > MAX_NESTING:
                    raise DDSyntaxError(f"expression nested too deeply: more than {MAX_NESTING} levels", e.span,
                                        hint="split it into several assignments")
