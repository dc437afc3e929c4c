"""The Triton backend's lowering table: each primitive's value at a map, as one
expression (`triton_rules`), and the backend's spelling of dtypes."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING
from collections.abc import Callable

import numpy as np

from ddc.errors import IRError
from ddc.ir import dims as D
from ddc.ir.core import Node
from ddc.ir.dtypes import DType
from ddc.ir.primitives import strided_extent

from ..common.literal import literal
from ..common.runtime import multiply_out
from .index_maps import Gathered, collides, index_rules

if TYPE_CHECKING:
    from .kernel import Kernel, Scope


def tl_type(dtype: DType) -> str:
    """Triton's name for the dtype: numpy's (`DType.numpy`), but bool is `tl.int1`."""
    return "tl.int1" if dtype.is_bool else f"tl.{dtype.numpy}"


def torch_type(dtype: DType) -> str:
    return f"torch.{dtype.numpy}"


def zero_of(dtype: DType) -> str:
    return "False" if dtype.is_bool else "0"


# -- the rule table: each primitive's value at a map, as one expression --------------------

def _map(fn: Callable[..., str]):
    """An elementwise primitive: its inputs read at its own map, combined by `fn`."""
    def rule(k: Kernel, node: Node, at, scope: Scope) -> str:
        return fn(node, *(k.value(v, at, scope) for v in node.inputs))

    return rule


def _call(name: str):
    return _map(lambda node, *xs: f"{name}({', '.join(xs)})")


def _infix(op: str):
    return _map(lambda node, x, y: f"{x} {op} {y}")


def _div(node, x, y):
    dtype = node.out.dtype
    if dtype.is_int:
        return f"{x} // {y}"  # rounds toward zero, as lax.div does
    return f"tl.div_rn({x}, {y})" if dtype.name == "f32" else f"{x} / {y}"


def _sqrt(node, x):
    return f"tl.sqrt_rn({x})" if node.out.dtype.name == "f32" else f"tl.sqrt({x})"


def _pow(k: Kernel, node: Node, at, scope: Scope) -> str:
    """The general `power` (the shared pipeline's simplify made small constant exponents
    an `integer_pow`)."""
    x, y = node.inputs
    return f"power({k.value(x, at, scope)}, {k.value(y, at, scope)})"


def _integer_pow(k: Kernel, node: Node, at, scope: Scope) -> str:
    """The numpy backend's multiplication chain (`multiply_out`) written out, with the
    squarings as calls (`square(square(x))`), so the source grows with the exponent's bits."""
    (x,), n = node.inputs, node.params["y"]
    one = f"tl.full([1], 1, {tl_type(node.out.dtype)})"
    if n == 0:
        return one
    return multiply_out(
        k.value(x, at, scope), n, lambda a, b: f"({a} * {b})", lambda a: f"square({a})",
        lambda a: _div(node, one, a))


def _extremum(name: str, direction: str):
    """Floats as np.maximum/np.minimum compute them: NaN in either operand gives NaN, and
    equal operands (+0.0 and -0.0) give the second (tl.maximum's choice between zeros
    differs between the interpreter and the GPU). Two selects, not one of an `|`: a loaded
    scalar is a 0-d tensor, and the interpreter cannot `|` its bool with a block's."""
    def fn(node, x, y):
        if not node.out.dtype.is_float:
            return f"tl.{name}({x}, {y})"
        return f"tl.where({x} != {x}, {x}, tl.where({x} {direction} {y}, {x}, {y}))"

    return fn


_COMPARE_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def _convert(node, x):
    dtype, source = node.params["dtype"], node.inputs[0].dtype
    if dtype == source:
        return x
    if dtype.is_bool:
        return f"{x} != 0"
    if source.is_float and dtype.is_int:  # truncated, NaN to 0, saturated (numpy_runtime.convert)
        info = np.iinfo(dtype.np)
        low, high = float(info.min), -float(info.min)
        inside = f"tl.where(({x} >= {low!r}) & ({x} < {high!r}), {x}, 0).to({tl_type(dtype)})"
        return (f"tl.where({x} >= {high!r}, {info.max}, "
                f"tl.where({x} < {low!r}, {info.min}, {inside})).to({tl_type(dtype)})")
    return f"{x}.to({tl_type(dtype)})"


def _moved(k: Kernel, node: Node, at, scope: Scope) -> str:
    """broadcast_in_dim, transpose, reshape, slice: the input, read elsewhere."""
    (x_at,) = index_rules[node.prim.name](node, at)
    return k.value(node.inputs[0], x_at, scope)


def _pad(k: Kernel, node: Node, at, scope: Scope) -> str:
    (x,) = node.inputs
    if x.type.size() == 0:  # all padding: nothing to read (an empty operand has no memory)
        return f"tl.full([1], {zero_of(x.dtype)}, {tl_type(x.dtype)})"
    (x_at,) = index_rules["pad"](node, at)
    value = k.value(x, x_at, scope)
    p = node.params
    inside = []
    for ix, d, lo, hi, it in zip(at, x.shape, p["low"], p["high"], p["interior"]):
        if lo == 0 and hi == 0 and it == 0:
            continue
        shifted = k.ix(ix - lo, scope)
        inside.append(f"({shifted} >= 0) & ({shifted} < {k.dim(strided_extent(d, it + 1))})")
        if it:
            inside.append(f"(({shifted}) % {it + 1} == 0)")
    if not inside:
        return value
    return f"tl.where({' & '.join(inside)}, {value}, {zero_of(x.dtype)})"


def _concatenate(k: Kernel, node: Node, at, scope: Scope) -> str:
    axis = node.params["axis"]
    maps = index_rules["concatenate"](node, at)
    position = k.ix(at[axis], scope)
    text = k.value(node.inputs[-1], maps[-1], scope)
    end: D.Dim = 0
    ends = []
    for x in node.inputs[:-1]:
        end = end + x.shape[axis]
        ends.append(end)
    for x, x_at, end in reversed(list(zip(node.inputs[:-1], maps[:-1], ends))):
        text = f"tl.where({position} < {k.dim(end)}, {k.value(x, x_at, scope)}, {text})"
    return text


def _gather(k: Kernel, node: Node, at, scope: Scope) -> str:
    x, idx = node.inputs
    x_at, _ = index_rules["gather"](node, at)
    value = k.value(x, x_at, scope)
    axis = node.params["axis"]
    picked = k.ix(x_at[axis], scope)
    inside = f"({picked} >= 0) & ({picked} < {k.dim(x.shape[axis])})"
    return f"tl.where({inside}, {value}, {zero_of(x.dtype)})"


def _scatter_add(k: Kernel, node: Node, at, scope: Scope) -> str:
    if collides(node):
        raise IRError("internal error: a colliding scatter_add is read like a one-hot placement")
    updates, idx = node.inputs
    u_at, idx_at = index_rules["scatter_add"](node, at)
    axis = node.params["axis"]
    picked = k.index(Gathered(idx.id, idx_at, node.out.shape[axis]), scope)
    value = k.value(updates, u_at, scope)
    if updates.dtype.is_float:
        value = f"({value} + 0.0)"  # what lands on the zeros is 0.0 + u: +0.0 at u = -0.0
    return f"tl.where({k.ix(at[axis], scope)} == {picked}, {value}, {zero_of(updates.dtype)})"


# Scalars made in a kernel are 1-element blocks, not 0-d tensors: they broadcast the same,
# and Triton's interpreter miscomputes `&` of a comparison of a made 0-d tensor.

def _iota(k: Kernel, node: Node, at, scope: Scope) -> str:
    ix, ty = at[node.params["dimension"]], tl_type(node.params["dtype"])
    if not ix.terms:
        return f"tl.full([1], {k.ix(ix, scope)}, {ty})"
    return f"({k.ix(ix, scope)}).to({ty})"


def _constant(k: Kernel, node: Node, at, scope: Scope) -> str:
    value, dtype = node.params["value"], node.params["dtype"]
    if isinstance(value, D.Sym):
        text = k.dim(value)
    elif dtype.is_float:
        x = float(value)
        text = "NAN" if math.isnan(x) else ("INF" if x > 0 else "-INF") if math.isinf(x) else repr(x)
    else:
        text = literal(value, dtype, k.dims)
    return f"tl.full([1], {text}, {tl_type(dtype)})"


def _register(k: Kernel, node: Node, at, scope: Scope) -> str:
    raise IRError(f"internal error: {node.prim.name} read at a map where its kernel does not hold it")


triton_rules: dict[str, Callable[[Kernel, Node, tuple, Scope], str]] = {
    "neg": _map(lambda node, x: f"-{x}"),
    "abs": _call("tl.abs"),
    "sign": _call("sign"),
    "exp": _call("tl.exp"),
    "log": _call("tl.log"),
    "log1p": _call("log1p"),
    "tanh": _call("tanh"),
    "logistic": _call("logistic"),
    "sqrt": _map(_sqrt),
    "sin": _call("tl.sin"),
    "cos": _call("tl.cos"),
    "erf": _call("tl.math.erf"),
    "add": _infix("+"),
    "sub": _infix("-"),
    "mul": _infix("*"),
    "div": _map(_div),
    "pow": _pow,
    "integer_pow": _integer_pow,
    "max": _map(_extremum("maximum", ">")),
    "min": _map(_extremum("minimum", "<")),
    "compare": _map(lambda node, x, y: f"{x} {_COMPARE_OPS[node.params['direction']]} {y}"),
    "select": _call("tl.where"),
    "convert": _map(_convert),
    "stop_gradient": _map(lambda node, x: x),
    "broadcast_in_dim": _moved,
    "reshape": _moved,
    "transpose": _moved,
    "slice": _moved,
    "pad": _pad,
    "concatenate": _concatenate,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "iota": _iota,
    "constant": _constant,
    "reduce_sum": _register,
    "reduce_max": _register,
    "dot_general": _register,
}
