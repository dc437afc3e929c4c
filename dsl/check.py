"""The checker: names, arity, dtypes and symbolic shapes of every expression, before any IR.

It walks each function once, generically: parameters have their declared types (dims are
symbols, `float` is the dtype variable `FLOAT`), so one check covers every call. What it
learns goes into a `FunctionInfo` (`dsl.checked`): the type of each expression and, for each operation,
a plan for the lowering (`Apply`, `UserCall`, `TupleItem`), written in the function's own
dims and float, which the lowering binds per call.

Calls of user functions are checked against the callee's signature alone: its dims bind to
the caller's dims (`unify`), its `float` to the caller's dtypes. Every error is a DDError
with the span of the offending expression and a message that says what to change.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from ddc.errors import DDNameError, DDTypeError, TransformError, located
from ddc.ir import dims as D
from ddc.ir.dtypes import f32

from . import ast, indexing
from . import shapes as S
from .builtins import BUILTINS, OPERATORS, Builtin
from .callcheck import CallCheck, bind_arguments, did_you_mean
from .checked import Apply, FunctionInfo, TupleItem, UserCall
from .nesting import left_spine
from .program import FunctionDef, Module
from .recursion import check_no_recursion
from .transforms import REFS, TRANSFORMS, FunctionRef, Transform
from .types import (
    DTYPE_NAMES, FLOAT, INT, Tensor, bind_float, fits, flatten, is_float, is_static, join, kind, static_kind,
    tensor_of, weak_tensor, weakened,
)
from .values import fold, show, static_of


def check_modules(modules: list[Module], known: Callable[[FunctionDef], FunctionInfo]) -> dict[FunctionDef, FunctionInfo]:
    """The checked info of every function of `modules`, once none of them recurses; `known`
    gives the info of functions checked before (those of stdlib modules loaded earlier)."""
    infos = {fn: FunctionChecker(fn).run() for m in modules for fn in m.functions.values()}
    check_no_recursion(list(infos), lambda fn: infos[fn] if fn in infos else known(fn))
    return infos


_MISSING = object()


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
        assert isinstance(target, ast.TupleExpr), target  # the parser makes no other target
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
        if isinstance(x, Tensor) and x.static is not None and not isinstance(x.static, bool):
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
