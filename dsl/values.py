"""The checker's values in words (`show`), as Python values (`static_of`), and arithmetic
on constants done at check time (`fold`)."""
from __future__ import annotations

import operator

from ddc.ir import dims as D
from ddc.ir.dtypes import DType

from .program import Module
from .types import FLOAT, Tensor


def show(value) -> str:
    """A value of the checker in words, for messages."""
    if isinstance(value, Tensor):
        return str(value)
    if isinstance(value, tuple):
        return f"a tuple ({', '.join(show(v) for v in value)})"
    if value is None:
        return "None"
    if value is Ellipsis:
        return "'...'"
    if isinstance(value, DType) or value == FLOAT:
        return f"the dtype {value}"
    if isinstance(value, Module):
        return f"the module {value.name}"
    if isinstance(value, (bool, int, float, D.Sym)):  # a constant's value, from static_of
        return f"the constant {value}"
    return f"the function {value}"


def static_of(value):
    """The Python value of a constant (int, float, bool, dim, tuple, None, dtype, ...)."""
    if isinstance(value, Tensor):
        return value.static
    if isinstance(value, tuple):
        return tuple(static_of(v) for v in value)
    return value


_FOLDS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}


def fold(op: str, x, y):
    """`x op y` computed now when both are constants, as Python would; None when it must
    run in the program (or would be unreasonable to compute here)."""
    if op not in _FOLDS or not (isinstance(x, Tensor) and isinstance(y, Tensor) and x.constant and y.constant):
        return None
    a, b = x.static, y.static
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, D.Sym) or isinstance(b, D.Sym):  # dims stay integer polynomials
        ints = not isinstance(a, float) and not isinstance(b, float)
        return _FOLDS[op](a, b) if ints and op in ("+", "-", "*") else None
    if op == "**" and isinstance(a, int) and isinstance(b, int) and b > 64:
        return None
    try:
        result = _FOLDS[op](a, b)
    except ArithmeticError:  # 1 / 0, overflow: leave it to run time, as numpy would
        return None
    if isinstance(result, complex) or (isinstance(result, int) and abs(result) >= 2 ** 63):
        return None
    return result
