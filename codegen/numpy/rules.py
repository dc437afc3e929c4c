"""The numpy backend's lowering table: one `Lowering` per primitive, the IR's and the
backend's own (`codegen.numpy.fusion`).

An entry's `expr(site, *input names, **params)` is the plain expression, the only form the
checking variant (`debug`) writes. The forms the optimised code may use instead are
fields of the same entry: the ufunc that writes into a dying input (`out=`), whether a
large one is split across cores (`threaded`), whether a scalar operand is given as a
filled array (`with_scalar`).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np

from ddc.ir import dims as D
from ddc.ir.core import Node
from ddc.ir.dtypes import DType
from ddc.ir.types import TensorType

from ..common.arguments import DimBinder
from ..common.literal import literal
from .arguments import dtype_ref
from .runtime import PARALLEL_MIN_SIZE


# -- what a rule sees ----------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """What a rule knows about its node besides the input names and the params."""

    in_types: tuple[TensorType, ...]
    out: TensorType
    dims: DimBinder
    users_broadcast: bool = False  # every user broadcasts this value itself (`emit._users_broadcast`)
    rows: str | None = None  # inside a row block: the block's row count, for leading dims

    def dim(self, d: D.Dim) -> str:
        return self.dims.expr(d)

    def shape(self, shape) -> str:
        if self.rows is not None and shape:  # (not reading the leading dim: a block has its own)
            return tuple_text([self.rows] + [self.dim(d) for d in shape[1:]])
        return tuple_text([self.dim(d) for d in shape])


def tuple_text(items) -> str:
    items = [str(x) for x in items]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def axis_text(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else tuple_text(axes)


def scalar_type(dtype: DType) -> str:
    """numpy's scalar type: named as `DType.numpy`, but `np.bool_` (numpy 1 has no np.bool)."""
    return "np.bool_" if dtype.is_bool else f"np.{dtype.numpy}"


def expand(x: str, positions, ndim: int) -> str:
    """`x` indexed with `None` so that its axes sit at `positions` of an `ndim`-d result;
    numpy broadcasting aligns trailing axes by itself, so those need nothing."""
    positions = list(positions)
    if positions == list(range(ndim - len(positions), ndim)):
        return x
    index = [":" if i in positions else "None" for i in range(positions[0], ndim)]
    while index[-1] == ":":
        index.pop()
    return f"{x}[{', '.join(index)}]"


# -- the plain expressions: one function per primitive, each returning one expression -----

def _call(fn: str):
    return lambda site, *args: f"{fn}({', '.join(args)})"


def _infix(op: str):
    return lambda site, x, y: f"{x} {op} {y}"


def _div(site, x, y):
    return f"{x} / {y}" if site.out.dtype.is_float else f"int_div({x}, {y})"


_COMPARE_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def _compare(site, x, y, direction):
    return f"{x} {_COMPARE_OPS[direction]} {y}"


def _select(site, pred, on_true, on_false):
    if site.out.dtype.is_float:
        return f"select({pred}, {on_true}, {on_false})"  # bit masks: numpy's where is slow
    return f"np.where({pred}, {on_true}, {on_false})"


def _convert(site, x, dtype):
    if site.in_types[0].dtype.is_float and dtype.is_int:
        return f"convert({x}, {dtype_ref(dtype)})"  # truncated, NaN to 0, saturated
    return f"{x}.astype({dtype_ref(dtype)})"


def _broadcast_in_dim(site, x, shape, broadcast_dimensions):
    view = expand(x, broadcast_dimensions, len(shape))
    return view if site.users_broadcast else f"broadcast({view}, {site.shape(shape)})"


def _reshape(site, x, shape):
    return f"{x}.reshape({site.shape(shape)})"


def _transpose(site, x, permutation):
    if tuple(permutation) == (1, 0):
        return f"{x}.T"
    return f"{x}.transpose({tuple_text(permutation)})"


def _reduce_sum(site, x, axes):
    # numpy sums small ints in the platform int; the IR keeps the operand's dtype
    dtype = f", dtype={dtype_ref(site.out.dtype)}" if site.out.dtype.is_int else ""
    return f"np.add.reduce({x}, axis={axis_text(axes)}{dtype})"  # np.sum's wrapper costs 3 µs a call


def _lowest(dtype: DType) -> str:
    if dtype.is_float:
        return "-np.inf"
    if dtype.is_bool:
        return "False"
    return str(np.iinfo(dtype.np).min)


def _reduce_max(site, x, axes):
    # `initial` makes the max of an empty axis the dtype's lowest value, as in lax
    return f"np.maximum.reduce({x}, axis={axis_text(axes)}, initial={_lowest(site.out.dtype)})"


def _moved(x: str, order) -> str:
    order = tuple(order)
    return x if order == tuple(range(len(order))) else f"{x}.transpose({tuple_text(order)})"


def _dot_general(site, x, y, contract, batch):
    """The cheapest correct numpy form: `@` for vectors and matrices (transposed views are
    free), one `@` after reshaping without batch dims, batched `np.matmul` with one free
    dim per side, and einsum for everything else."""
    (lc, rc), (lb, rb) = contract, batch
    lhs, rhs = site.in_types
    lfree = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rfree = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    if not lb and len(lc) == 1 and lhs.ndim <= 2 and rhs.ndim <= 2:
        left = f"{x}.T" if lhs.ndim == 2 and lc[0] == 0 else x
        right = f"{y}.T" if rhs.ndim == 2 and rc[0] == 1 else y
        return f"{left} @ {right}"
    if not lb:
        return _reshaped_product(site, x, y, lc, rc, lfree, rfree)
    if len(lc) == 1 and len(lfree) == 1 and len(rfree) == 1:
        return f"np.matmul({_moved(x, [*lb, *lfree, *lc])}, {_moved(y, [*rb, *rc, *rfree])})"
    return _einsum(x, y, lhs.ndim, rhs.ndim, lc, rc, lb, rb, lfree, rfree)


def _reshaped_product(site, x, y, lc, rc, lfree, rfree) -> str:
    """A contraction without batch dims as one `@`: each side's free dims and contracted
    dims moved together and merged (a view when they already are), a side without free
    dims a vector. This is what `np.tensordot` does, but it calls `np.dot`, which is ~20%
    slower than `@` on float32 matrices here (and a full contraction becomes a BLAS dot)."""
    lhs, rhs = site.in_types
    if not lc:  # nothing contracted: every free dim of x times every free dim of y
        return f"np.multiply.outer({x}, {y})"

    def size(t, axes) -> str:
        return site.dim(D.product(t.shape[i] for i in axes))

    def merged(name, t, first, second):
        """`name` as a matrix (first dims, second dims), or a vector if one side is empty;
        stored the other way round, as the transposed view of that matrix (free for BLAS,
        where moving the dims would copy)."""
        if first and second and [*second, *first] == list(range(t.ndim)) and len(first) + len(second) > 2:
            return f"{name}.reshape({size(t, second)}, {size(t, first)}).T"
        moved = _moved(name, [*first, *second])
        if len(first) <= 1 and len(second) <= 1:
            return moved
        if first and second:
            return f"{moved}.reshape({size(t, first)}, {size(t, second)})"
        return f"{moved}.reshape({size(t, first or second)})"

    product = f"{merged(x, lhs, lfree, lc)} @ {merged(y, rhs, rc, rfree)}"
    if len(lfree) == 1 and len(rfree) <= 1 or not lfree and len(rfree) == 1:
        return product  # already the output's shape
    return f"({product}).reshape({site.shape(site.out.shape) if site.out.shape else '()'})"


def _einsum(x, y, lrank, rrank, lc, rc, lb, rb, lfree, rfree):
    letters = iter(string.ascii_letters)
    left, right = [""] * lrank, [""] * rrank
    for a, b in [*zip(lb, rb), *zip(lc, rc)]:
        left[a] = right[b] = next(letters)
    for i in lfree:
        left[i] = next(letters)
    for i in rfree:
        right[i] = next(letters)
    out = [left[i] for i in lb] + [left[i] for i in lfree] + [right[i] for i in rfree]
    spec = f"{''.join(left)},{''.join(right)}->{''.join(out)}"
    return f"np.einsum({spec!r}, {x}, {y}, optimize=False)"


def _slice(site, x, start, limit, stride):
    (t,) = site.in_types
    parts = []
    for d, lo, hi, k in zip(t.shape, start, limit, stride):
        part = f"{'' if lo == 0 else site.dim(lo)}:{'' if hi == d else site.dim(hi)}"
        parts.append(part if k == 1 else f"{part}:{k}")
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return f"{x}[{', '.join(parts) or '()'}]"


def _pad(site, x, low, high, interior):
    negative = any(isinstance(p, int) and p < 0 for p in (*low, *high))
    if not low or any(interior) or negative:
        return f"pad({x}, {site.shape(low)}, {site.shape(high)}, {tuple_text(interior)})"
    widths = tuple_text(f"({site.dim(lo)}, {site.dim(hi)})" for lo, hi in zip(low, high))
    return f"np.pad({x}, {widths})"


def _concatenate(site, *xs, axis):
    return f"np.concatenate({tuple_text(xs)}, axis={axis})"


def _gather(site, x, idx, axis, batch_dims):
    if batch_dims == 0:
        return f"np.take({x}, {idx}, axis={axis})"
    return f"gather({x}, {idx}, axis={axis}, batch_dims={batch_dims})"


def _scatter_add(site, updates, idx, axis, batch_dims, shape):
    return (f"scatter_add({updates}, {idx}, axis={axis}, batch_dims={batch_dims}, "
            f"shape={site.shape(shape)})")


def _iota(site, shape, dimension, dtype):
    line = f"np.arange({site.dim(shape[dimension])}, dtype={dtype_ref(dtype)})"
    if len(shape) == 1:
        return line
    return f"broadcast({expand(line, [dimension], len(shape))}, {site.shape(shape)})"


def _constant(site, value, dtype):
    return f"{scalar_type(dtype)}({literal(value, dtype, site.dims)})"


def _sign(site, x):
    return f"sign({x})" if site.out.dtype.is_float else f"np.sign({x})"


# -- the table: one entry per primitive ---------------------------------------------------

def _all_inputs(node: Node) -> list:
    return node.inputs


def _float_inputs(node: Node) -> list:
    return node.inputs if node.out.dtype.is_float else []  # int div is a helper without out=


def _no_inputs(node: Node) -> list:
    return []


@dataclass(frozen=True)
class Lowering:
    """How the numpy backend writes one primitive.

    `ufunc`: numpy's ufunc (or the runtime's helper of a ufunc's signature) computing it,
    which takes `out=`; `float_ufunc` where floats need another (np.sign(-0.0) is +0.0).
    `writable(node)`: the inputs the result may be written into (`into(node, args, target,
    threads)` writes it). `threaded`: numpy computes it one element at a time, so a large
    one is split across cores (`parallel`). `with_scalar`: slow with a scalar operand (a
    relu's 0), which `with_scalar` gives as an array."""

    expr: Callable[..., str]
    ufunc: str | None = None
    float_ufunc: str | None = None
    writable: Callable[[Node], list] = _no_inputs
    into: Callable[..., str] | None = None
    threaded: bool = False
    with_scalar: bool = False

    def ufunc_for(self, node: Node) -> str:
        ufunc = self.float_ufunc if self.float_ufunc and node.out.dtype.is_float else self.ufunc
        assert ufunc is not None, "a rule without a ufunc is not called as one"
        return ufunc


def ufunc_call(lowering: Lowering, node: Node, args: list[str], out: str = "", threads: bool = True) -> str:
    """The ufunc's call; across cores (`parallel`) where threaded and large."""
    if threads and lowering.threaded and not small(node, PARALLEL_MIN_SIZE):
        return f"parallel({lowering.ufunc}, {', '.join(args)}{out})"
    return f"{lowering.ufunc_for(node)}({', '.join(args)}{out})"


def small(node: Node, limit: int) -> bool:
    """The node's output is known to have fewer than `limit` elements."""
    size = node.out.type.size()
    return isinstance(size, int) and size < limit


def _ufunc_into(node: Node, args: list[str], target: str, threads: bool) -> str:
    return ufunc_call(numpy_rules[node.prim.name], node, args, f", out={target}", threads)


def ufunc(name: str, expr: Callable[..., str] | None = None, *, writable=_all_inputs, **forms) -> Lowering:
    """The entry of a primitive that numpy's ufunc `name` computes (written `name(x, y)`
    unless `expr` says otherwise)."""
    return Lowering(expr or _call(name), ufunc=name, writable=writable, into=_ufunc_into, **forms)


def _select_writable(node: Node) -> list:
    return node.inputs[1:] if node.out.dtype.is_float else []  # np.where has no out=


def _select_into(node: Node, args: list[str], target: str, threads: bool) -> str:
    return f"select({', '.join(args)}, out={target})"


def _add_scatter(site, x, updates, idx, axis, batch_dims):
    return f"add_scatter({x}, {updates}, {idx}, {axis}, {batch_dims})"


def _add_scatter_into(node: Node, args: list[str], target: str, threads: bool) -> str:
    return f"add_scatter({', '.join(args)}, {node.params['axis']}, {node.params['batch_dims']}, out={target})"


numpy_rules: dict[str, Lowering] = {
    "neg": ufunc("np.negative", lambda site, x: f"-{x}"),
    "abs": ufunc("np.abs"),
    "sign": ufunc("np.sign", _sign, float_ufunc="sign"),
    "exp": ufunc("np.exp", threaded=True),
    "log": ufunc("np.log", threaded=True),
    "log1p": ufunc("np.log1p", threaded=True),
    "tanh": ufunc("np.tanh", threaded=True),
    "logistic": Lowering(_call("logistic")),
    "sqrt": ufunc("np.sqrt"),
    "sin": ufunc("np.sin", threaded=True),
    "cos": ufunc("np.cos", threaded=True),
    "erf": Lowering(_call("erf")),
    "add": ufunc("np.add", _infix("+")),
    "sub": ufunc("np.subtract", _infix("-")),
    "mul": ufunc("np.multiply", _infix("*")),
    "div": ufunc("np.divide", _div, writable=_float_inputs),
    "pow": ufunc("power"),
    "integer_pow": Lowering(lambda site, x, y: f"integer_pow({x}, {int(y)})"),
    "max": ufunc("np.maximum", with_scalar=True),
    "min": ufunc("np.minimum", with_scalar=True),
    "compare": Lowering(_compare),
    "select": Lowering(_select, writable=_select_writable, into=_select_into),
    "convert": Lowering(_convert),
    "stop_gradient": Lowering(lambda site, x: x),
    "broadcast_in_dim": Lowering(_broadcast_in_dim),
    "reshape": Lowering(_reshape),
    "transpose": Lowering(_transpose),
    "reduce_sum": Lowering(_reduce_sum),
    "reduce_max": Lowering(_reduce_max),
    "dot_general": Lowering(_dot_general),
    "slice": Lowering(_slice),
    "pad": Lowering(_pad),
    "concatenate": Lowering(_concatenate),
    "gather": Lowering(_gather),
    "scatter_add": Lowering(_scatter_add),
    "iota": Lowering(_iota),
    "constant": Lowering(_constant),
    # the backend's own primitives (codegen.numpy.fusion)
    "add_scatter": Lowering(_add_scatter, writable=lambda n: n.inputs[:1], into=_add_scatter_into),
    "fmax": ufunc("np.fmax", with_scalar=True),
    "fmin": ufunc("np.fmin", with_scalar=True),
    "relu": ufunc("relu"),
}
