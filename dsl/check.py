"""The checker: names, arity, dtypes and symbolic shapes of every expression, before any IR.

It walks each function once, generically: parameters have their declared types (dims are
symbols, `float` is the dtype variable `FLOAT`), so one check covers every call. What it
learns goes into a `FunctionInfo`: the type of each expression and, for each operation,
a plan for the lowering (`Apply`, `UserCall`, `TupleItem`), written in the function's own
dims and float, which the lowering binds per call.

Calls of user functions are checked against the callee's signature alone: its dims bind to
the caller's dims (`unify`), its `float` to the caller's dtypes. Every error is a DDError
with the span of the offending expression and a message that says what to change.
"""
from __future__ import annotations

import difflib
import operator
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ddc.errors import DDError, DDNameError, DDTypeError, TransformError
from ddc.ir import dims as D
from ddc.ir.dtypes import DType, f32

from . import ast, indexing
from . import shapes as S
from .builtins import BUILTINS, OPERATORS, Builtin
from .nesting import left_spine
from .program import FunctionDef, Module
from .transforms import REFS, TRANSFORMS, FunctionRef, Transform
from .types import (
    DTYPE_NAMES, FLOAT, INT, Tensor, bind_float, fits, flatten, is_float, is_static, join, kind, static_kind,
    tensor_of, weak_tensor, weakened,
)


# -- what the checker hands to the lowering ------------------------------------------------------

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


# -- entry points ---------------------------------------------------------------------------------

def check_modules(modules: list[Module]) -> None:
    """Check every function of `modules` (setting `fn.info`), then that none recurses."""
    functions = [fn for m in modules for fn in m.functions.values()]
    for fn in functions:
        fn.info = FunctionChecker(fn).run()
    _check_no_recursion(functions)


def _check_no_recursion(functions: list[FunctionDef]) -> None:
    """Depth-first over the call graph, with an explicit stack: a chain of thousands of
    functions calling each other is no recursion here."""
    state: dict[FunctionDef, str] = {}
    for root in functions:
        if root in state:
            continue
        state[root], path, pending = "active", [root], [iter(root.info.calls)]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                state[path.pop()] = "done"
                pending.pop()
                continue
            callee, span = step
            if state.get(callee) == "active":
                cycle = path[path.index(callee):] + [callee]
                raise DDTypeError(
                    "recursive call: " + " -> ".join(f.name for f in cycle)
                    + "; ddc functions cannot call themselves", span,
                    hint="unroll the recursion, or express it with vmap or a reduction",
                )
            if callee not in state:
                state[callee] = "active"
                path.append(callee)
                pending.append(iter(callee.info.calls))


# -- helpers ---------------------------------------------------------------------------------------

@contextmanager
def located(span):
    """Give errors raised without a span (by shared shape helpers, IR rules) this one."""
    try:
        yield
    except DDError as e:
        if e.span is None:
            e.span = span
        raise


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


_MISSING = object()


# -- the per-call view that builtins' type rules use ------------------------------------------------

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

    def int(self, name: str) -> int:
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


# -- the checker of one function ----------------------------------------------------------------

class FunctionChecker:
    show = staticmethod(show)  # for the transforms' type rules

    def __init__(self, fn: FunctionDef):
        self.fn = fn
        self.float_dtype = FLOAT if fn.generic else f32  # a function without `float` is f32
        self.env: dict[str, Any] = {}
        self.dims: set[str] = set()
        self.info = FunctionInfo()

    def run(self) -> FunctionInfo:
        self.signature()
        for stmt in self.fn.ast.body:
            self.assign(stmt)
        self.check_return(self.fn.ast.ret)
        return self.info

    # statements
    def signature(self) -> None:
        for p in self.fn.params:
            if p.name in self.env:
                raise DDNameError(f"parameter '{p.name}' is listed twice", p.span)
            if p.type.computed_dims():
                raise DDTypeError(
                    f"parameter '{p.name}' has the dim {p.type.computed_dims()[0]}: a parameter's "
                    "dims are names or sizes, which the arguments bind", p.span,
                    hint="give the dim a name of its own; expressions like n-1 belong in the return type")
            self.env[p.name] = tensor_of(p.type, self.float_dtype)
            self.dims |= p.type.dim_names()
        for t in self.fn.returns:
            unbound = sorted(t.dim_names() - self.dims)
            if unbound:
                raise DDTypeError(
                    f"dim '{unbound[0]}' of the return type {t} is not a dim of any parameter",
                    self.fn.ast.return_span, hint="name return dims after the parameters' dims",
                )

    def assign(self, stmt: ast.Assign) -> None:
        self.bind(stmt.target, self.expr(stmt.value))

    def bind(self, target: ast.Expr, value) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
            return
        if not isinstance(value, tuple) or len(value) != len(target.items):
            raise DDTypeError(f"cannot unpack {show(value)} into {len(target.items)} names", target.span)
        for t, v in zip(target.items, value):
            self.bind(t, v)

    def check_return(self, ret: ast.Return) -> None:
        fn, value = self.fn, self.expr(ret.value)
        declared = ", ".join(map(str, fn.returns))
        if not fn.returns_tuple:
            pairs = [(value, fn.returns[0], ret.value)]
        elif isinstance(value, tuple) and len(value) == len(fn.returns):
            parts = ret.value.items if isinstance(ret.value, ast.TupleExpr) else [ret.value] * len(value)
            pairs = list(zip(value, fn.returns, parts))
        else:
            raise DDTypeError(f"{fn.name} returns {show(value)}, but its signature declares ({declared})", ret.value.span)
        for got, spec, expr in pairs:
            want = tensor_of(spec, self.float_dtype)
            if isinstance(got, Tensor) and got.weak:  # lowered at the declared dtype
                ok = (got.shape == want.shape and kind(got.dtype) <= kind(want.dtype)
                      and (not got.constant or fits(got.static, want.dtype)))
            else:
                ok = isinstance(got, Tensor) and got.dtype == want.dtype and got.shape == want.shape
            if not ok:
                hint = None
                if isinstance(got, Tensor) and not got.constant and got.shape == want.shape:
                    hint = f"convert with astype(..., {spec.dtype})"
                    if FLOAT in (got.dtype, want.dtype):
                        hint += " (float is f32 or f64, whichever the function is called with)"
                raise DDTypeError(f"{fn.name} returns {show(got)}, but its signature declares {spec}", expr.span, hint=hint)

    # names
    def lookup(self, name: str):
        if name in self.env:
            return self.env[name]
        if name in self.dims:
            return weak_tensor(D.Sym.name(name), self.float_dtype)
        target = self.fn.module.namespace.get(name)
        if target is not None:
            return FunctionRef(target) if isinstance(target, FunctionDef) else target
        if name in BUILTINS:
            return BUILTINS[name]
        if name in TRANSFORMS:
            return TRANSFORMS[name]
        if name in DTYPE_NAMES:
            return self.float_dtype if name == FLOAT else DTYPE_NAMES[name]
        return _MISSING

    def visible_names(self) -> set[str]:
        return set(self.env) | self.dims | set(self.fn.module.namespace) | set(BUILTINS) | set(TRANSFORMS) | set(DTYPE_NAMES)

    # expressions
    def expr(self, e: ast.Expr):
        if e in self.info.types:  # the inner links of a chain, checked on the way in
            return self.info.types[e]
        for link in left_spine(e, self.info.types):  # `a + b + c + ...`: innermost first, without recursion
            self.expr(link)
        with located(e.span):
            value = getattr(self, "_" + type(e).__name__)(e)
        self.info.types[e] = value
        return value

    def _Name(self, e: ast.Name):
        value = self.lookup(e.id)
        if value is _MISSING:
            raise DDNameError(f"undefined name '{e.id}'" + did_you_mean(e.id, self.visible_names()), e.span)
        if isinstance(value, (Builtin, Transform)):
            raise DDTypeError(f"{e.id} is a builtin: call it, as in {e.id}(...)", e.span)
        return value

    def _Number(self, e: ast.Number):
        return weak_tensor(e.value, self.float_dtype)

    def _Constant(self, e: ast.Constant):
        return weak_tensor(e.value, self.float_dtype) if isinstance(e.value, bool) else e.value

    def _TupleExpr(self, e: ast.TupleExpr):
        return tuple(self.expr(item) for item in e.items)

    def _UnaryOp(self, e: ast.UnaryOp):
        x = self.expr(e.operand)
        if e.op == "+":
            if not isinstance(x, Tensor):
                raise DDTypeError(f"unary + needs a tensor, got {show(x)}", e.span)
            return x
        if isinstance(x, Tensor) and x.constant and not isinstance(x.static, bool):
            return weak_tensor(-x.static, self.float_dtype)
        return self.apply(e, OPERATORS["neg"], {"x": e.operand}, {"x": x})

    def _BinOp(self, e: ast.BinOp):
        x, y = self.expr(e.left), self.expr(e.right)
        folded = fold(e.op, x, y)
        if folded is not None:
            return weak_tensor(folded, self.float_dtype)
        return self.apply(e, OPERATORS[e.op], {"x": e.left, "y": e.right}, {"x": x, "y": y})

    def apply(self, e: ast.Expr, builtin: Builtin, exprs: dict, values: dict):
        out, plan = builtin.check(CallCheck(builtin, exprs, values, e.span, self.float_dtype))
        if isinstance(out, Tensor):
            with located(e.span):
                S.check_size(out.shape)
        self.info.plans[e] = Apply(builtin.lower, exprs, plan)
        if builtin.weak and all(t.weak for name in builtin.weak for t in flatten(values[name])):
            return weakened(out, self.float_dtype)  # an operation of weak operands is weak
        return out

    def _Call(self, e: ast.Call):
        if isinstance(e.func, ast.Name):
            target = self.lookup(e.func.id)
            if isinstance(target, Builtin):
                exprs = bind_arguments(f"{target.name}()", target.params, target.required, e.args, e.kwargs, e.span)
                return self.apply(e, target, exprs, {k: self.expr(x) for k, x in exprs.items()})
            if isinstance(target, Transform):
                return self.transform(e, e.func.id, target)
        callee = self.expr(e.func)
        if not isinstance(callee, REFS):
            raise DDTypeError(f"{show(callee)} is not a function", e.func.span)
        return self.user_call(e, callee)

    def transform(self, e: ast.Call, name: str, t: Transform):
        exprs = bind_arguments(f"{name}()", t.params, ("fun",), e.args, e.kwargs, e.span)
        fun = self.expr(exprs["fun"])
        if not isinstance(fun, REFS):
            raise TransformError(f"{name} needs a function defined with def, got {show(fun)}", exprs["fun"].span)
        options = {}
        for p in t.params[1:]:
            if p not in exprs:
                options[p] = t.defaults[p]
                continue
            value = self.expr(exprs[p])
            if not is_static(value):
                raise TransformError(f"{p} of {name} must be a constant, got {show(value)}", exprs[p].span)
            options[p] = static_of(value)
        return t.make(fun, options)

    def user_call(self, e: ast.Call, ref):
        if isinstance(ref, FunctionRef):
            names = [p.name for p in ref.fn.params]
            exprs = bind_arguments(f"{ref.fn.name}()", names, names, e.args, e.kwargs, e.span)
            arg_exprs = [exprs[n] for n in names]
        elif e.kwargs:
            raise DDTypeError(f"pass the arguments of {ref} by position", e.kwargs[0].span)
        else:
            arg_exprs = list(e.args)
        args = [self.expr(a) for a in arg_exprs]
        for value, a in zip(args, arg_exprs):
            if not isinstance(value, Tensor):
                raise DDTypeError(f"arguments of {ref} must be tensors, got {show(value)}", a.span)
        out, effective = self.call_ref(ref, args, [a.span for a in arg_exprs], e.span)
        self.info.plans[e] = UserCall(ref, tuple(arg_exprs), tuple(effective))
        return out

    def call_ref(self, ref, args: list[Tensor], spans, span):
        """(result type, argument types after binding constants) of calling `ref`."""
        if isinstance(ref, FunctionRef):
            return self.call_function(ref.fn, args, spans, span)
        return ref.check(self, args, spans, span)

    def call_function(self, fn: FunctionDef, args: list[Tensor], spans, span):
        names = [p.name for p in fn.params]
        if len(args) != len(names):
            raise DDTypeError(f"{fn.name}() takes {len(names)} arguments ({', '.join(names)}), got {len(args)}", span)
        bound, clash = bind_float([p.type for p in fn.params], args, self.float_dtype)
        if clash is not None:
            raise DDTypeError(
                f"argument '{names[clash]}' of {fn.name} is {args[clash].dtype}, but its earlier float "
                f"arguments are {bound}: every float in a signature is one dtype", spans[clash],
            )
        bindings: dict[str, D.Dim] = {}
        effective = []
        for p, arg, at in zip(fn.params, args, spans):
            want = bound if p.type.dtype == FLOAT else p.type.dtype
            if arg.constant:
                if p.type.shape or static_kind(arg.static) > kind(want) or not fits(arg.static, want):
                    raise DDTypeError(f"argument '{p.name}' of {fn.name} must be {p.type}, got {arg}", at)
                effective.append(Tensor(want, ()))
                continue
            if arg.weak:  # passed at the parameter's dtype
                if kind(arg.dtype) > kind(want):
                    raise DDTypeError(f"argument '{p.name}' of {fn.name} must be {p.type}, got {arg}", at,
                                      hint=f"convert with astype(..., {want})")
                arg = Tensor(want, arg.shape)
            if p.type.dtype == FLOAT and not is_float(arg.dtype):
                raise DDTypeError(f"argument '{p.name}' of {fn.name} must be a float tensor ({p.type}), got {arg}",
                                  at, hint="convert with astype(..., f32)")
            if arg.dtype != want:
                raise DDTypeError(f"argument '{p.name}' of {fn.name} must be {p.type}, got {arg}", at,
                                  hint=f"convert with astype(..., {want})")
            problem = S.unify(p.type.shape, arg.shape, bindings)
            if problem:
                raise DDTypeError(f"argument '{p.name}' of {fn.name} must be {p.type}, got {arg}: {problem}", at)
            effective.append(arg)
        self.info.calls.append((fn, span))
        results = [Tensor(bound if t.dtype == FLOAT else t.dtype, S.substitute(t.dims, bindings)) for t in fn.returns]
        return (tuple(results) if fn.returns_tuple else results[0]), effective

    def _Attribute(self, e: ast.Attribute):
        base = self.expr(e.value)
        if isinstance(base, Module):
            target = base.namespace.get(e.attr)
            if target is None:
                raise DDNameError(f"module {base.name} has no function '{e.attr}'"
                                  + did_you_mean(e.attr, base.namespace), e.span)
            return FunctionRef(target) if isinstance(target, FunctionDef) else target
        if isinstance(base, Tensor) and e.attr == "T":
            return self.apply(e, BUILTINS["transpose"], {"x": e.value}, {"x": base})
        extra = " (tensors have .T; for the rest use functions, e.g. transpose(x))" if isinstance(base, Tensor) else ""
        raise DDTypeError(f"{show(base)} has no attribute '{e.attr}'{extra}", e.span)

    def _Subscript(self, e: ast.Subscript):
        base = self.expr(e.value)
        if isinstance(base, tuple):
            return self.tuple_item(e, base)
        if not isinstance(base, Tensor):
            raise DDTypeError(f"{show(base)} cannot be indexed", e.value.span)
        items, tensor_index = [], None
        for item in e.items:
            if isinstance(item, ast.Slice):
                items.append(("slice",) + tuple(self.bound(b) for b in (item.start, item.stop, item.step)))
                continue
            value = self.expr(item)
            if value is Ellipsis:
                items.append(("ellipsis",))
            elif isinstance(value, Tensor) and kind(value.dtype) == INT and value.constant:
                items.append(("index", value.static))
            elif isinstance(value, Tensor) and kind(value.dtype) == INT and self.is_arange(item):
                items.append(("range", value.shape[0]))
                tensor_index = tensor_index or item
            elif isinstance(value, Tensor) and kind(value.dtype) == INT:
                items.append(("take", value.shape))
                tensor_index = item  # with `x[arange(n), idx]`, idx is the one gathered
            else:
                hint = "use where(...) to select by a mask" if isinstance(value, Tensor) else None
                raise DDTypeError(f"an index must be an integer, a slice, '...' or an integer tensor, got {show(value)}",
                                  item.span, hint=hint)
        shape, plan = indexing.check_index(base.shape, items)
        args = {"x": e.value} if tensor_index is None else {"x": e.value, "indices": tensor_index}
        self.info.plans[e] = Apply(indexing.lower_index, args, plan)
        return Tensor(join([base], self.float_dtype), shape, weak=base.weak)

    def is_arange(self, e: ast.Expr) -> bool:
        """Whether `e` is `arange(k)`: the integers 0, 1, ..., k-1."""
        plan = self.info.plans.get(e)
        return (isinstance(e, ast.Call) and isinstance(plan, Apply) and plan.lower is BUILTINS["arange"].lower
                and plan.plan == (0, 1))

    def bound(self, e: ast.Expr | None):
        """A slice bound or step: None, or a constant integer or dim."""
        if e is None:
            return None
        value = self.expr(e)
        if not (isinstance(value, Tensor) and value.constant and kind(value.dtype) == INT):
            raise DDTypeError(f"slice bounds must be integer constants or dims, got {show(value)}", e.span)
        return value.static

    def tuple_item(self, e: ast.Subscript, base: tuple):
        value = self.expr(e.items[0]) if len(e.items) == 1 and not isinstance(e.items[0], ast.Slice) else None
        if not (isinstance(value, Tensor) and value.constant and isinstance(value.static, int)
                and not isinstance(value.static, bool)):
            raise DDTypeError("a tuple can only be indexed by one integer constant", e.span)
        if not -len(base) <= value.static < len(base):
            raise DDTypeError(f"index {value.static} is out of range for {show(base)}", e.span)
        self.info.plans[e] = TupleItem(value.static % len(base))
        return base[value.static]
