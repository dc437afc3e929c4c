"""Lowering: a checked function, at concrete argument types, -> a verified `ir.Graph`.

The checker already decided every type and wrote a plan for each operation in the
function's own terms (dims `n`, `d`; dtype `float`). Lowering binds those to this call's
dims (by matching the signature against the argument types) and float dtype, then emits
primitives: each expression's nodes carry its source span, each DSL variable's value is
named after the variable. Constants (`2`, `0.5`, a dim `d`) stay Python values until an
operation needs them as tensors of a given dtype (`coerce`). Other weak expressions
(`full((n,), 0.1)`, `arange(n) / 10`, see `types`) likewise stay unlowered (`Weak`) until
a consumer asks for them at a dtype; each is then emitted at that dtype (cached per
expression and dtype), so `x + full((n,), 0.1)` with an f64 `x` holds an f64 constant 0.1,
never an f32 one converted.

Calls of user functions and transforms are lowered to a graph of their own, at the
argument types, and inlined (`ir.inline`), so nodes keep the callee's names and spans.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from ddc.errors import DDTypeError, located
from ddc.ir import Builder, Graph, Value, dims as D, inline, verify
from ddc.ir.dtypes import DType, f32
from ddc.ir.types import TensorType

from . import ast
from . import shapes as S
from .checked import Apply, TupleItem, UserCall
from .library import Library
from .nesting import left_spine
from .transforms import FunctionRef
from .types import (
    BOOL, FLOAT, Tensor, bind_float, describe, is_static, join, kind, resolve, unflatten, weak_tensor,
)


# The most IR nodes one function's graph may have once its calls are inlined. The largest
# realistic graph (the Hessian of examples/infonce's loss) has ~330; a function called
# twice from a function called twice ... doubles per level, so without a bound 40 such
# levels in a 2 KB file would take all memory. ~600 bytes a node: 100,000 is ~60 MB.
MAX_GRAPH_NODES = 100_000


class GraphTooLarge(DDTypeError):
    """Inlining would make a graph over MAX_GRAPH_NODES: raised at the call that would
    cross it, before its nodes are made, then re-pointed at each enclosing call on the
    way out, so it ends at the outermost call with the whole chain."""

    def __init__(self, chain: list[str], nodes: int, span):
        self.chain, self.nodes = chain, nodes
        shown = chain if len(chain) <= 6 else chain[:3] + ["..."] + chain[-2:]
        super().__init__(
            f"inlining the calls {' -> '.join(shown)} ({len(chain)} functions) would make a graph of "
            f"{nodes} IR nodes, over the limit of {MAX_GRAPH_NODES}", span,
            hint="every call is inlined, so each function that calls the next twice doubles the size: "
                 "call it once and reuse the result")

    def called_from(self, caller: str, span) -> GraphTooLarge:
        return GraphTooLarge([caller, *self.chain], self.nodes, span)


def lower_function(library: Library, fn, arg_types: list[TensorType], float_dtype: DType) -> Graph:
    """The graph of user function `fn` called with `arg_types` (cached in `library`, which
    holds `fn`'s checked info). `float_dtype` is the caller's float, which `float` binds to
    when no argument decides it."""
    specs = [p.type for p in fn.params]
    binding = bind_float(specs, [describe(t) for t in arg_types], float_dtype)[0] if fn.generic else f32

    key = (tuple(arg_types), binding)
    graph = library.cached_graph(fn, key)
    if graph is not None:
        return graph
    dims: dict[str, D.Dim] = {}
    for spec, t in zip(specs, arg_types):
        S.unify(spec.shape, t.shape, dims)
    inputs = [Value(t, name=p.name) for p, t in zip(fn.params, arg_types)]
    b = Builder()
    outputs = _FunctionLowering(library, fn, b, dims, binding).run(inputs)
    return library.keep_graph(fn, key, verify(b.graph(inputs, outputs, fn.name)))


def lower_graph(library: Library, ref, arg_types: list[TensorType], float_dtype: DType) -> Graph:
    """The graph of a function reference (a user function or a transform of one)."""
    if isinstance(ref, FunctionRef):
        return lower_function(library, ref.fn, arg_types, float_dtype)
    graph = ref.lower(arg_types, float_dtype, partial(lower_graph, library))
    if len(graph.nodes) > MAX_GRAPH_NODES:  # a transform multiplies a graph under the limit
        raise GraphTooLarge([str(ref)], len(graph.nodes), None)
    return graph


@dataclass(eq=False)
class Weak:
    """A weak expression, not yet lowered: `emit(dtype)` lowers it at a dtype of its kind.
    `type` is its type at its kind's default dtype; `name`, the variable it is bound to."""

    emit: Callable[[DType], Value]
    type: TensorType
    name: str | None = None

    def at(self, b: Builder, dtype: DType) -> Value:
        """The expression as a `dtype` tensor, converted when emitted at another dtype."""
        v = self.emit(self.emitted_at(dtype))
        if v.name is None:
            v.name = self.name
        return v if v.dtype == dtype else b.convert(v, dtype=dtype)

    def emitted_at(self, dtype: DType) -> DType:
        """`dtype` when that is of the expression's kind or above (an integer is computed in
        the float it meets), else its default, to be converted as `astype` would (a float
        made an integer, a comparison made a number)."""
        own = self.type.dtype
        return dtype if kind(own) != BOOL and kind(dtype) >= kind(own) else own


def coerce(b: Builder, value, dtype: DType, shape=None) -> Value:
    """`value` (a Value, a Weak or a Python constant) as a tensor of `dtype`, broadcast
    numpy-style (trailing dims aligned) to `shape` when given."""
    if isinstance(value, Value):
        v = value if value.dtype == dtype else b.convert(value, dtype=dtype)
    elif isinstance(value, Weak):
        v = value.at(b, dtype)
    else:
        v = b.scalar(value, dtype)
    if shape is not None and tuple(v.shape) != tuple(shape):
        shape = tuple(shape)
        v = b.broadcast_in_dim(v, shape=shape, broadcast_dimensions=tuple(range(len(shape) - v.ndim, len(shape))))
    return v


class CallLower:
    """What a builtin's lowering gets: the lowered arguments (Values or constants), the
    concrete result type `out`, the checker's plan with this call's dims, the builder."""

    def __init__(self, b: Builder, args: dict, out: TensorType, plan, float_dtype: DType):
        self.b, self.args, self.out, self.plan, self.float_dtype = b, args, out, plan, float_dtype

    def tensor(self, name: str, dtype: DType, shape=None) -> Value:
        return coerce(self.b, self.args[name], dtype, shape)

    def tensors(self, name: str, dtype: DType) -> list[Value]:
        return [coerce(self.b, v, dtype) for v in self.args[name]]

    def coerce(self, value, dtype: DType, shape=None) -> Value:
        return coerce(self.b, value, dtype, shape)

    def const(self, value, dtype: DType, shape=()) -> Value:
        return coerce(self.b, value, dtype, shape)

    def join(self, *names: str) -> DType:
        """The common dtype of arguments, by the checker's promotion rule."""
        return resolve(join([self.describe(self.args[n]) for n in names], self.float_dtype), self.float_dtype)

    def describe(self, v) -> Tensor:
        if isinstance(v, Value):
            return describe(v.type)
        if isinstance(v, Weak):
            return Tensor(v.type.dtype, v.type.shape, weak=True)
        return weak_tensor(v, self.float_dtype)

    def reshape(self, v: Value, shape) -> Value:
        return v if tuple(v.shape) == tuple(shape) else self.b.reshape(v, shape=tuple(shape))


@dataclass(frozen=True)
class _LoweredAt:
    """The expressions already lowered at `dtype`, as the `done` of `left_spine`."""

    values: dict
    dtype: DType

    def __contains__(self, e) -> bool:
        return (e, self.dtype) in self.values


class _FunctionLowering:
    def __init__(self, library: Library, fn, b: Builder, dims: dict, float_dtype: DType):
        self.library, self.fn, self.b, self.dims, self.float_dtype = library, fn, b, dims, float_dtype
        self.info = library.info(fn)
        self.env: dict = {}
        self.values: dict = {}  # expression -> its lowered value; (weak expression, dtype) -> its value
        self.input_ids: set[int] = set()

    def run(self, inputs: list[Value]) -> list[Value]:
        self.env.update((p.name, v) for p, v in zip(self.fn.params, inputs))
        self.input_ids = {v.id for v in inputs}
        for stmt in self.fn.ast.body:
            self.assign(stmt)
        ret = self.fn.ast.ret
        value = self.expr(ret.value)
        self.b.span = ret.value.span
        values = value if self.fn.returns_tuple else (value,)
        return [coerce(self.b, v, resolve(spec.dtype, self.float_dtype)) for v, spec in zip(values, self.fn.returns)]

    def assign(self, stmt) -> None:
        self.bind(stmt.target, self.expr(stmt.value))

    def bind(self, target, value) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, Value) and value.id not in self.input_ids:
                value.name = target.id
            elif isinstance(value, Weak):
                value.name = target.id
            self.env[target.id] = value
            return
        for t, v in zip(target.items, value):
            self.bind(t, v)

    # this call's view of the checker's types and constants
    def concrete(self, t: Tensor) -> TensorType:
        return TensorType(resolve(t.dtype, self.float_dtype), S.substitute(t.shape, self.dims))

    def static(self, value):
        if isinstance(value, Tensor):
            return S.substitute(value.static, self.dims)
        if isinstance(value, tuple):
            return tuple(self.static(v) for v in value)
        return self.float_dtype if isinstance(value, str) and value == FLOAT else value

    # expressions
    def expr(self, e):
        t = self.info.types[e]
        if is_static(t):
            return self.static(t)
        if isinstance(t, Tensor) and t.weak and isinstance(self.info.plans.get(e), Apply):
            return Weak(partial(self.weak_at, e), self.concrete(t))
        if e in self.values:  # the inner links of a chain, lowered on the way in
            return self.values[e]
        for link in left_spine(e, self.values):  # `a + b + c + ...`: innermost first, without recursion
            self.expr(link)
        with self.spanned(e):
            self.values[e] = getattr(self, "_" + type(e).__name__)(e)
        return self.values[e]

    def weak_at(self, e, dtype: DType) -> Value:
        """Weak expression `e` lowered at `dtype` (its operands at the dtypes it needs)."""
        key = (e, dtype)
        if key in self.values:
            return self.values[key]
        for link in left_spine(e, _LoweredAt(self.values, dtype)):  # a long weak chain: links first
            if not is_static(self.info.types[link]):
                self.weak_at(link, self.expr(link).emitted_at(dtype))
        with self.spanned(e):
            self.values[key] = self.planned(e, dtype)
        return self.values[key]

    @contextmanager
    def spanned(self, e):
        """Nodes made inside get `e`'s span, and so do errors raised without one."""
        outer, self.b.span = self.b.span, e.span
        try:
            with located(e.span):  # e.g. a pass rejecting a transform: point at the call
                yield
        finally:
            self.b.span = outer

    def _Name(self, e):
        return self.env[e.id]

    def _TupleExpr(self, e):
        return tuple(self.expr(item) for item in e.items)

    def _UnaryOp(self, e):
        return self.expr(e.operand) if e.op == "+" else self.planned(e)

    def planned(self, e, dtype: DType | None = None):
        """`e` lowered by its plan (a weak `e` at `dtype`)."""
        plan = self.info.plans[e]
        if isinstance(plan, Apply):
            args = {name: self.expr(x) for name, x in plan.args.items()}
            out = self.concrete(self.info.types[e])
            if dtype is not None:
                out = TensorType(dtype, out.shape)
            return plan.lower(CallLower(self.b, args, out, S.substitute(plan.plan, self.dims), self.float_dtype))
        if isinstance(plan, TupleItem):
            return self.expr(e.value)[plan.index]
        return self.call(plan, self.info.types[e], e.span)

    _BinOp = _Call = _Attribute = _Subscript = planned

    def call(self, plan: UserCall, result_type, span):
        args = [coerce(self.b, self.expr(a), resolve(t.dtype, self.float_dtype))
                for a, t in zip(plan.args, plan.arg_types)]
        try:
            graph = lower_graph(self.library, plan.ref, [a.type for a in args], self.float_dtype)
        except GraphTooLarge as e:
            raise e.called_from(self.fn.name, span) from None
        first = len(self.b.nodes)
        if first + len(graph.nodes) > MAX_GRAPH_NODES:
            raise GraphTooLarge([self.fn.name, str(plan.ref)], first + len(graph.nodes), span)
        outputs = inline(self.b, graph, args)
        for node in self.b.nodes[first:]:
            if node.span is None:  # made by a pass: point at the call that asked for it
                node.span = span
        return unflatten(outputs, result_type)
