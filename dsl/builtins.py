"""The builtin functions and operators: for each, its type rule and its lowering, together.

An entry's `check(c)` gets a `callcheck.CallCheck` (the arguments' types and helpers that turn
constants into axes, shapes and dtypes, raising errors that point at the argument) and
returns `(result type, plan)`. The plan holds what the lowering needs that types do not say
(normalized axes, a permutation), written in the function's own dims. An entry's
`lower(l)` gets a `lower.CallLower` (the lowered tensor arguments, the concrete result type
`l.out` and the plan with dims bound) and emits primitives with `l.b`, an `ir.Builder`.

Names and meanings follow numpy. Promotion is JAX's (see `types.join`); broadcasting and
dtype conversion are emitted explicitly, as the primitives require identical operand types.
Weak types (see `types`): an entry's `weak` names the operands whose being all weak makes
its result weak (elementwise and structural builtins); constructors without `dtype=` make
weak results themselves; the rest (reductions, matmul, astype) are strong.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ddc.ir import dims as D
from ddc.ir.dtypes import bool_, f32, i32
from ddc.ir.primitives import slice_length

from . import shapes as S
from .types import BOOL, INT, Tensor, is_float, kind


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[str, ...]
    check: Callable
    lower: Callable
    defaults: dict = field(default_factory=dict)
    weak: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if p not in self.defaults)


BUILTINS: dict[str, Builtin] = {}
OPERATORS: dict[str, Builtin] = {}  # keyed by the operator: "+", "@", "<", unary "neg"


def _define(table: dict, name: str, params: str, check, lower, weak: str = "", **defaults) -> None:
    table[name] = Builtin(name, tuple(params.split()), check, lower, defaults, tuple(weak.split()))


def _dtype_or(c, default):
    """The `dtype=` argument, or `default` when it is None."""
    return default if c.static("dtype") is None else c.dtype("dtype")


def _constructed(c, dtype, shape, weak: bool = True) -> Tensor:
    """A constructor's result: weak unless `dtype=` is given (or `weak` says otherwise)."""
    return Tensor(_dtype_or(c, dtype), shape, weak=weak and c.static("dtype") is None)


# -- elementwise ------------------------------------------------------------------------------

def check_float_unary(c):
    x = c.tensor("x")
    dtype = x.dtype if is_float(x.dtype) else c.float_dtype
    return Tensor(dtype, x.shape), None


def lower_unary(prim: str):
    return lambda l: l.b.bind(prim, l.tensor("x", l.out.dtype))


for _name, _prim in [("exp", "exp"), ("log", "log"), ("log1p", "log1p"), ("sqrt", "sqrt"),
                     ("tanh", "tanh"), ("sigmoid", "logistic"), ("sin", "sin"), ("cos", "cos"),
                     ("erf", "erf")]:
    _define(BUILTINS, _name, "x", check_float_unary, lower_unary(_prim), weak="x")


def check_numeric_unary(c):
    x = c.tensor("x")
    dtype = c.join(x)
    if dtype == bool_:
        c.fail(f"{c.name} is not defined on bool; convert with astype(x, i32) first", "x")
    return Tensor(dtype, x.shape), None


_define(BUILTINS, "abs", "x", check_numeric_unary, lower_unary("abs"), weak="x")
_define(BUILTINS, "sign", "x", check_numeric_unary, lower_unary("sign"), weak="x")
_define(OPERATORS, "neg", "x", check_numeric_unary, lower_unary("neg"), weak="x")


def lower_relu(l):
    # select(x <= 0, 0, x), as in JAX: relu(NaN) = NaN, relu(±0) = +0, relu'(0) = 0
    x = l.tensor("x", l.out.dtype)
    zero = l.const(0, x.dtype, x.shape)
    return l.b.select(l.b.compare(x, zero, direction="le"), zero, x)


_define(BUILTINS, "relu", "x", check_numeric_unary, lower_relu, weak="x")


def check_arith(c):
    x, y = c.tensor("x"), c.tensor("y")
    dtype = c.join(x, y)
    if dtype == bool_:
        c.fail(f"'{c.name}' is not defined on bool; convert with astype(x, i32) first")
    return Tensor(dtype, c.broadcast(x, y)), None


def check_true_divide(c):
    out, plan = check_arith(c)
    return (out if is_float(out.dtype) else Tensor(f32, out.shape)), plan  # `/` of ints gives f32


def check_pow(c):
    out, plan = check_arith(c)
    if not is_float(out.dtype):
        c.fail(f"** needs a float operand, got {c.tensor('x')} ** {c.tensor('y')}; "
               "convert with astype(x, f32)")
    return out, plan


def lower_binary(prim: str):
    return lambda l: l.b.bind(prim, l.tensor("x", l.out.dtype, l.out.shape),
                              l.tensor("y", l.out.dtype, l.out.shape))


def lower_pow(l):
    """An integer literal exponent (weak, so still a Python int here) is an integer power:
    `x ** 2` is x * x and `x ** 0` is 1, with the derivatives those give (JAX's rule)."""
    y = l.args["y"]
    if isinstance(y, int) and not isinstance(y, bool):
        return l.b.integer_pow(l.tensor("x", l.out.dtype, l.out.shape), y=y)
    return lower_binary("pow")(l)


for _op, _prim, _check in [("+", "add", check_arith), ("-", "sub", check_arith), ("*", "mul", check_arith),
                           ("/", "div", check_true_divide)]:
    _define(OPERATORS, _op, "x y", _check, lower_binary(_prim), weak="x y")
_define(OPERATORS, "**", "x y", check_pow, lower_pow, weak="x y")
_define(BUILTINS, "maximum", "x y", check_arith, lower_binary("max"), weak="x y")
_define(BUILTINS, "minimum", "x y", check_arith, lower_binary("min"), weak="x y")


def check_compare(c):
    x, y = c.tensor("x"), c.tensor("y")
    c.join(x, y)
    return Tensor(bool_, c.broadcast(x, y)), None


def lower_compare(direction: str):
    def lower(l):
        dtype = l.join("x", "y")
        shape = l.out.shape
        return l.b.compare(l.tensor("x", dtype, shape), l.tensor("y", dtype, shape), direction=direction)

    return lower


for _op, _direction in [("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge"), ("==", "eq"), ("!=", "ne")]:
    _define(OPERATORS, _op, "x y", check_compare, lower_compare(_direction), weak="x y")


def check_where(c):
    cond, x, y = c.tensor("condition"), c.tensor("x"), c.tensor("y")
    if kind(cond.dtype) != BOOL:
        c.fail(f"where needs a bool condition, got {cond}; compare first, e.g. where(x > 0, ...)", "condition")
    return Tensor(c.join(x, y), c.broadcast(cond, x, y)), None


def lower_where(l):
    shape = l.out.shape
    return l.b.select(l.tensor("condition", bool_, shape), l.tensor("x", l.out.dtype, shape),
                      l.tensor("y", l.out.dtype, shape))


_define(BUILTINS, "where", "condition x y", check_where, lower_where, weak="x y")


def check_cast(c):
    x = c.tensor("x")
    return Tensor(c.dtype("dtype"), x.shape), None


def lower_cast(l):
    x = l.args["x"]
    if isinstance(x, float) and not l.out.dtype.is_float:
        # a float literal is converted like any float (truncated, NaN to 0, saturated),
        # by a convert that simplify folds, not by Python's int()
        return l.b.convert(l.b.scalar(x, l.float_dtype), dtype=l.out.dtype)
    return l.tensor("x", l.out.dtype)


_define(BUILTINS, "astype", "x dtype", check_cast, lower_cast)


def check_same(c):
    x = c.tensor("x")
    return Tensor(c.join(x), x.shape), None


_define(BUILTINS, "stop_gradient", "x", check_same, lower_unary("stop_gradient"), weak="x")


# -- reductions ----------------------------------------------------------------------------------

def check_reduction(c):
    x = c.tensor("x")
    axes = c.axes("axis", x.ndim)
    dtype = c.join(x)
    if c.name == "sum" and dtype == bool_:
        dtype = i32  # counting
    elif c.name == "mean" and not is_float(dtype):
        dtype = c.float_dtype
    elif c.name in ("max", "min") and dtype == bool_:
        c.fail(f"{c.name} is not defined on bool; convert with astype(x, i32) first", "x")
    return Tensor(dtype, S.reduced_shape(x.shape, axes, c.flag("keepdims"))), axes


def lower_sum(l):
    return l.reshape(l.b.reduce_sum(l.tensor("x", l.out.dtype), axes=l.plan), l.out.shape)


def lower_mean(l):
    x = l.tensor("x", l.out.dtype)
    total = l.b.reduce_sum(x, axes=l.plan)
    count = D.product(x.shape[a] for a in l.plan)
    return l.reshape(l.b.div(total, l.const(count, x.dtype, total.shape)), l.out.shape)


def lower_max(l):
    return l.reshape(l.b.reduce_max(l.tensor("x", l.out.dtype), axes=l.plan), l.out.shape)


def lower_min(l):
    # min(x) = -max(-x): one reduction primitive to differentiate and batch
    smallest = l.b.neg(l.b.reduce_max(l.b.neg(l.tensor("x", l.out.dtype)), axes=l.plan))
    return l.reshape(smallest, l.out.shape)


for _name, _lower in [("sum", lower_sum), ("mean", lower_mean), ("max", lower_max), ("min", lower_min)]:
    _define(BUILTINS, _name, "x axis keepdims", check_reduction, _lower, axis=None, keepdims=False)


# -- linear algebra ----------------------------------------------------------------------------

def check_matmul(c):
    x, y = c.tensor("x"), c.tensor("y")
    dtype = c.join(x, y)
    if dtype == bool_:
        c.fail("matmul is not defined on bool")
    batch, shape = S.matmul_shape(x.shape, y.shape, shown=(str(x), str(y)))
    return Tensor(dtype, shape), batch


def lower_matmul(l):
    """numpy matmul as one dot_general: batch dims become dot_general batch dims (broadcast
    first where they differ); a rhs without batch dims contracts directly."""
    x, y = l.tensor("x", l.out.dtype), l.tensor("y", l.out.dtype)
    batch = l.plan
    if y.ndim <= 2:
        # contract x's last dim with y's first; x's batch and row dims stay free, in order
        return l.b.dot_general(x, y, contract=((x.ndim - 1,), (0,)), batch=((), ()))
    if x.ndim == 1:
        # (k) @ (..., k, m): the free dims of y are already (..., m)
        return l.b.dot_general(x, y, contract=((0,), (y.ndim - 2,)), batch=((), ()))
    nb = len(batch)
    if x.ndim == 2:
        # (n, k) @ (..., k, m) gives (n, ..., m): move n into place rather than broadcast x
        out = l.b.dot_general(x, y, contract=((1,), (y.ndim - 2,)), batch=((), ()))
        return l.b.transpose(out, permutation=tuple(range(1, nb + 1)) + (0, nb + 1))
    x = l.coerce(x, x.dtype, batch + tuple(x.shape[-2:]))
    y = l.coerce(y, y.dtype, batch + tuple(y.shape[-2:]))
    dims = tuple(range(nb))
    return l.b.dot_general(x, y, contract=((nb + 1,), (nb,)), batch=(dims, dims))


_define(BUILTINS, "matmul", "x y", check_matmul, lower_matmul)
_define(OPERATORS, "@", "x y", check_matmul, lower_matmul)


# -- shapes ------------------------------------------------------------------------------------

def check_transpose(c):
    x = c.tensor("x")
    axes = c.static("axes")
    if axes is None:
        perm = tuple(reversed(range(x.ndim)))
    else:
        perm = tuple(S.normalize_axis(a, x.ndim) for a in c.ints("axes"))
        if sorted(perm) != list(range(x.ndim)):
            c.fail(f"axes {axes} is not a permutation of the {x.ndim} axes of {x}", "axes")
    return Tensor(c.join(x), tuple(x.shape[p] for p in perm)), perm


def lower_transpose(l):
    x = l.tensor("x", l.out.dtype)
    if l.plan == tuple(range(x.ndim)):
        return x
    return l.b.transpose(x, permutation=l.plan)


_define(BUILTINS, "transpose", "x axes", check_transpose, lower_transpose, weak="x", axes=None)


def lower_reshape(l):
    return l.reshape(l.tensor("x", l.out.dtype), l.out.shape)


def check_reshape(c):
    x = c.tensor("x")
    return Tensor(c.join(x), S.reshape_shape(x.shape, c.shape("shape", allow_minus_one=True))), None


def check_expand_dims(c):
    x = c.tensor("x")
    count = len(c.ints("axis"))
    axes = c.axes("axis", x.ndim + count)
    dims = iter(x.shape)
    return Tensor(c.join(x), tuple(1 if i in axes else next(dims) for i in range(x.ndim + count))), None


def check_squeeze(c):
    x = c.tensor("x")
    if c.static("axis") is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = c.axes("axis", x.ndim)
        for a in axes:
            if x.shape[a] != 1:
                c.fail(f"cannot squeeze axis {a} of {x}: its size is {x.shape[a]}, not 1", "axis")
    return Tensor(c.join(x), tuple(d for i, d in enumerate(x.shape) if i not in axes)), None


def check_broadcast_to(c):
    x = c.tensor("x")
    return Tensor(c.join(x), S.broadcast_to_shape(x.shape, c.shape("shape"))), None


_define(BUILTINS, "reshape", "x shape", check_reshape, lower_reshape, weak="x")
_define(BUILTINS, "expand_dims", "x axis", check_expand_dims, lower_reshape, weak="x")
_define(BUILTINS, "squeeze", "x axis", check_squeeze, lower_reshape, weak="x", axis=None)
_define(BUILTINS, "broadcast_to", "x shape", check_broadcast_to,
        lambda l: l.tensor("x", l.out.dtype, l.out.shape), weak="x")


def check_concatenate(c):
    arrays = c.tensors("arrays")
    first = arrays[0]
    if first.ndim == 0:
        c.fail("zero-dimensional values cannot be concatenated; use reshape(x, (1,)) first", "arrays")
    axis = S.normalize_axis(c.integer("axis"), first.ndim)
    total: D.Dim = 0
    for t in arrays:
        if t.ndim != first.ndim:
            c.fail(f"concatenate needs operands of one rank, got {first} and {t}", "arrays")
        for i, (a, b) in enumerate(zip(first.shape, t.shape)):
            if i != axis and a != b:
                c.fail(f"concatenate along axis {axis}: dim {i} differs, {first} vs {t}", "arrays")
        total = total + t.shape[axis]
    shape = first.shape[:axis] + (total,) + first.shape[axis + 1:]
    return Tensor(c.join(*arrays), shape), axis


def lower_concatenate(l):
    return l.b.concatenate(*l.tensors("arrays", l.out.dtype), axis=l.plan)


_define(BUILTINS, "concatenate", "arrays axis", check_concatenate, lower_concatenate, weak="arrays", axis=0)


# -- indexing by tensors ------------------------------------------------------------------------

def check_take(c):
    x, idx = c.tensor("x"), c.tensor("indices")
    if kind(idx.dtype) != INT:
        c.fail(f"indices must be integers, got {idx}", "indices")
    if c.static("axis") is None:
        x_shape, axis = (D.product(x.shape),), None
    else:
        x_shape, axis = x.shape, S.normalize_axis(c.integer("axis"), x.ndim)
    a = axis or 0
    return Tensor(c.join(x), x_shape[:a] + idx.shape + x_shape[a + 1:]), axis


def lower_take(l):
    x = l.tensor("x", l.out.dtype)
    idx = l.tensor("indices", l.join("indices"))
    if l.plan is None:  # numpy's take without an axis indexes the flattened array
        x = l.reshape(x, (D.product(x.shape),))
    return l.b.gather(x, idx, axis=l.plan or 0, batch_dims=0)


_define(BUILTINS, "take", "x indices axis", check_take, lower_take, weak="x", axis=None)


def check_one_hot(c):
    labels = c.tensor("x")
    if kind(labels.dtype) != INT:
        c.fail(f"one_hot needs integer labels, got {labels}", "x")
    classes = c.dim("num_classes")
    return _constructed(c, c.float_dtype, labels.shape + (classes,)), None


def lower_one_hot(l):
    """A 1 placed at each label along a new last axis: a scatter_add of ones, so a label
    outside [0, c) is a DDIndexError at call time like any tensor index (no zero row)."""
    labels = l.tensor("x", l.join("x"))
    k = labels.ndim
    dtype = i32 if l.out.dtype.is_bool else l.out.dtype  # scatter_add adds: no bools
    ones = l.const(1, dtype, tuple(labels.shape) + (1,))
    column = l.reshape(labels, tuple(labels.shape) + (1,))
    placed = l.b.scatter_add(ones, column, axis=k, batch_dims=k, shape=tuple(l.out.shape))
    return l.coerce(placed, l.out.dtype)


_define(BUILTINS, "one_hot", "x num_classes dtype", check_one_hot, lower_one_hot, dtype=None)


# -- constructors --------------------------------------------------------------------------------

def check_filled(c):
    return _constructed(c, c.float_dtype, c.shape("shape")), None


def lower_filled(value):
    return lambda l: l.const(value, l.out.dtype, l.out.shape)


_define(BUILTINS, "zeros", "shape dtype", check_filled, lower_filled(0), dtype=None)
_define(BUILTINS, "ones", "shape dtype", check_filled, lower_filled(1), dtype=None)


def check_full(c):
    fill = c.tensor("fill_value")
    shape = c.shape("shape")
    S.broadcast_to_shape(fill.shape, shape)
    return _constructed(c, c.join(fill), shape, weak=fill.weak), None


_define(BUILTINS, "full", "shape fill_value dtype", check_full,
        lambda l: l.tensor("fill_value", l.out.dtype, l.out.shape), dtype=None)


def check_eye(c):
    n = c.dim("N")
    m = n if c.static("M") is None else c.dim("M")
    return _constructed(c, c.float_dtype, (n, m)), None


def lower_eye(l):
    rows = l.b.iota(shape=l.out.shape, dimension=0, dtype=i32)
    cols = l.b.iota(shape=l.out.shape, dimension=1, dtype=i32)
    return l.coerce(l.b.compare(rows, cols, direction="eq"), l.out.dtype)


_define(BUILTINS, "eye", "N M dtype", check_eye, lower_eye, M=None, dtype=None)


def check_arange(c):
    start, stop = c.dim("start", signed=True), None
    if c.static("stop") is None:
        start, stop = 0, start
    else:
        stop = c.dim("stop", signed=True)
    step = c.integer("step")
    if step <= 0:
        c.fail(f"arange needs a positive step, got {step}", "step")
    if step != 1 and not isinstance(stop - start, int):
        c.fail(f"arange with step {step} needs a known length, but stop - start is {stop - start}", "step")
    if isinstance(stop - start, int) and stop < start:
        stop = start  # empty
    out = _constructed(c, i32, (slice_length(start, stop, step),))
    if kind(out.dtype) == BOOL:
        c.fail("arange cannot make bools", "dtype")
    return out, (start, step)


def lower_arange(l):
    start, step = l.plan
    values = l.b.iota(shape=l.out.shape, dimension=0, dtype=l.out.dtype)
    if step != 1:
        values = l.b.mul(values, l.const(step, l.out.dtype, l.out.shape))
    if start != 0:
        values = l.b.add(values, l.const(start, l.out.dtype, l.out.shape))
    return values


_define(BUILTINS, "arange", "start stop step dtype", check_arange, lower_arange, stop=None, step=1, dtype=None)
