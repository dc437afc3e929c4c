"""What a builtin's type rule gets (`CallCheck`): a call's arguments, with helpers that read
constants and report errors at the argument that is wrong; and the matching of a call's
arguments to parameter names (`bind_arguments`), as Python does it."""
from __future__ import annotations

import difflib

from ddc.errors import DDTypeError, located
from ddc.ir import dims as D
from ddc.ir.dtypes import DType

from . import ast
from . import shapes as S
from .builtins import Builtin
from .types import DTYPE_NAMES, FLOAT, Tensor, fits, is_static, join
from .values import show, static_of


def did_you_mean(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def bind_arguments(what: str, params, required, args, kwargs, span) -> dict[str, ast.Expr]:
    """Match positional and keyword arguments to parameter names, as Python does."""
    if len(args) > len(params):
        count = f"{len(params)}" if len(required) == len(params) else f"at most {len(params)}"
        raise DDTypeError(f"{what} takes {count} arguments ({', '.join(params)}), got {len(args)}", span)
    bound = dict(zip(params, args))
    for k in kwargs:
        if k.name not in params:
            raise DDTypeError(f"{what} has no parameter '{k.name}'" + did_you_mean(k.name, params), k.span)
        if k.name in bound:
            raise DDTypeError(f"{what} got two values for '{k.name}'", k.span)
        bound[k.name] = k.value
    missing = [p for p in required if p not in bound]
    if missing:
        raise DDTypeError(f"{what} is missing the argument '{missing[0]}'", span)
    return bound


class CallCheck:
    """A builtin call's arguments, with helpers that read constants and report errors at the
    argument that is wrong."""

    def __init__(self, builtin: Builtin, exprs: dict, values: dict, span, float_dtype):
        self.name = builtin.name
        self.defaults = builtin.defaults
        self.exprs, self.values, self.span = exprs, values, span
        self.float_dtype = float_dtype

    def fail(self, message: str, arg: str | None = None):
        raise DDTypeError(message, self.exprs[arg].span if arg in self.exprs else self.span)

    def tensor(self, name: str) -> Tensor:
        value = self.values[name]
        if not isinstance(value, Tensor):
            self.fail(f"argument '{name}' of {self.name} must be a tensor, got {show(value)}", name)
        return value

    def tensors(self, name: str) -> list[Tensor]:
        value = self.values[name]
        if not (isinstance(value, tuple) and value and all(isinstance(v, Tensor) for v in value)):
            self.fail(f"argument '{name}' of {self.name} must be a tuple or list of tensors, got {show(value)}", name)
        return list(value)

    def static(self, name: str):
        if name not in self.values:
            return self.defaults[name]
        value = self.values[name]
        if not is_static(value):
            self.fail(f"argument '{name}' of {self.name} must be a constant, got {show(value)}", name)
        return static_of(value)

    def integer(self, name: str) -> int:
        value = self.static(name)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"argument '{name}' of {self.name} must be an integer constant, got {value}", name)
        return value

    def ints(self, name: str) -> tuple[int, ...]:
        value = self.static(name)
        items = value if isinstance(value, tuple) else (value,)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            self.fail(f"argument '{name}' of {self.name} must be an int or a tuple of ints, got {value}", name)
        return items

    def axes(self, name: str, ndim: int) -> tuple[int, ...]:
        value = self.static(name)
        if value is None:
            return tuple(range(ndim))
        self.ints(name)
        with located(self.exprs[name].span):
            return S.normalize_axes(value, ndim)

    def flag(self, name: str) -> bool:
        value = self.static(name)
        if not isinstance(value, bool):
            self.fail(f"argument '{name}' of {self.name} must be true or false, got {value}", name)
        return value

    def dim(self, name: str, signed: bool = False) -> D.Dim:
        value = self.static(name)
        ok = isinstance(value, D.Sym) or (isinstance(value, int) and not isinstance(value, bool)
                                          and (signed or value >= 0))
        if not ok:
            self.fail(f"argument '{name}' of {self.name} must be a size (an integer constant or a dim), got {value}", name)
        return value

    def shape(self, name: str, allow_minus_one: bool = False) -> tuple[D.Dim, ...]:
        value = self.static(name)
        items = value if isinstance(value, tuple) else (value,)
        for d in items:
            ok = isinstance(d, D.Sym) or (isinstance(d, int) and not isinstance(d, bool)
                                          and (d >= 0 or (allow_minus_one and d == -1)))
            if not ok:
                self.fail(f"argument '{name}' of {self.name} must be a shape (sizes or dims), got {value}", name)
        return tuple(items)

    def dtype(self, name: str):
        value = self.static(name)
        if not (isinstance(value, DType) or value == FLOAT):
            self.fail(f"argument '{name}' of {self.name} must be a dtype ({', '.join(DTYPE_NAMES)}), got {show(value)}", name)
        return value

    def join(self, *tensors: Tensor):
        dtype = join(list(tensors), self.float_dtype)
        for t in tensors:
            if t.constant and not fits(t.static, dtype):
                self.fail(f"the constant {t.static} does not fit {dtype}")
        return dtype

    def broadcast(self, *tensors: Tensor) -> tuple:
        return S.broadcast_shapes(*(t.shape for t in tensors))
