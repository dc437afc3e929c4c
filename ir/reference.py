"""The reference evaluator: the semantics of the IR, one primitive at a time.

`evaluate(graph, *arrays)` runs a graph node by node with the plainest numpy for each
primitive: no rewrites, no fusion, no threads, no in-place tricks. It is what a graph
*means*; every backend and every optimization is tested against it (bitwise where they
compute the same operations, to a stated ulp bound where a backend documents another
formula).

The rules that are easy to get wrong, written down once here:

- An integer tensor index (`gather`, `scatter_add`) must lie in `[0, n)`; anything else,
  negative included, raises `DDIndexError` at the node's span. A dim the call makes
  negative, or a slice bound outside its dim (`x[-5]` at n = 3), raises it too. These are
  the checks of `ir.requirements`, made before any node runs as the backends make them,
  with the same messages; an index computed in the graph is checked where it is used,
  and only when the node using it is live (its result reaches an output).
- `sign(±0) = ±0` and `sign(NaN) = NaN`; `max`/`min` propagate NaN (numpy's `maximum`).
- Float-to-int `convert` truncates toward zero, maps NaN to 0 and saturates at the int
  type's limits; float-to-bool is `x != 0` (NaN is true), as numpy's cast.
- Integer `div` rounds toward zero (lax's `div`); a zero divisor gives 0 (numpy's).
- `integer_pow` multiplies out repeated squarings in JAX's order (bit-exact with it).
- `logistic` is `1 / (1 + exp(-|x|))`, mirrored for negative x: no overflow at any x.
- `erf` is C's `math.erf` of each element in f64, rounded to the dtype (numpy has no erf).
- `reduce_max` of an empty axis is the dtype's lowest value (`-inf` for floats).
"""
from __future__ import annotations

import functools
import math
import string
from collections.abc import Callable

import numpy as np

from .errors import CallError, IRError

from . import dims as D
from .core import Graph, Node
from .requirements import IndexCheck, call_checks, check_call, first_outside, index_error


def evaluate(graph: Graph, *args) -> list[np.ndarray]:
    """The graph's outputs, as numpy arrays, for `args` (arrays or Python scalars)."""
    if len(args) != len(graph.inputs):
        raise CallError(f"{graph.name or 'graph'} takes {len(graph.inputs)} arguments, got {len(args)}")
    arrays = [_argument(v, a, i) for i, (v, a) in enumerate(zip(graph.inputs, args))]
    dims = bind_dims([v.type.shape for v in graph.inputs], [a.shape for a in arrays])
    check_call(call_checks([graph]).prologue, dims, arrays)
    env = {v.id: a for v, a in zip(graph.inputs, arrays)}
    # a node nothing reads is never run (so an index it would have checked is not
    # checked), as after any backend's dead-code elimination
    for node in graph.live_nodes():
        shape = tuple(D.evaluate(d, dims) for d in node.out.type.shape)
        result = _run(node, [env[v.id] for v in node.inputs], dims)
        result = np.asarray(result, dtype=node.out.dtype.np)
        if result.shape != shape:
            raise IRError(f"reference: {node.prim.name} made {result.shape}, its type says {shape}")
        env[node.out.id] = result
    return [env[v.id] for v in graph.outputs]


def _argument(value, arg, position: int) -> np.ndarray:
    dtype = value.dtype.np
    if isinstance(arg, (bool, int, float)) and not isinstance(arg, np.ndarray):
        return np.asarray(arg, dtype=dtype)
    arr = np.asarray(arg)
    if arr.dtype != dtype or arr.ndim != value.ndim:
        raise CallError(f"argument {position} must be {value.type}, got {arr.dtype}{list(arr.shape)}")
    return arr


def bind_dims(specs, shapes) -> dict[str, int]:
    """The dim names' sizes from the inputs' shapes: names first, then every polynomial dim
    checked against its size."""
    dims: dict[str, int] = {}
    for spec, shape in zip(specs, shapes):
        for d, n in zip(spec, shape):
            if isinstance(d, D.Sym) and len(d.names()) == 1 and d == D.Sym.name(next(iter(d.names()))):
                name = next(iter(d.names()))
                if dims.setdefault(name, n) != n:
                    raise CallError(f"dim {name} is {dims[name]} and {n}")
    for spec, shape in zip(specs, shapes):
        for d, n in zip(spec, shape):
            if D.evaluate(d, dims) != n:
                raise CallError(f"dim {d} is {D.evaluate(d, dims)}, got an array with {n}")
    return dims


def _run(node: Node, xs: list[np.ndarray], dims: dict[str, int]):
    # a param's dims take this call's sizes (shapes, slice bounds, constants)
    params = {k: D.map_param(v, lambda d: D.evaluate(d, dims)) for k, v in node.params.items()}
    with np.errstate(all="ignore"):
        return reference_rules[node.prim.name](node, *xs, **params)


# -- the rules: (node, *inputs, **params) -> array -----------------------------------------

def _ufunc(fn: Callable):
    return lambda node, *xs: fn(*xs)


def _sign(node, x):
    if x.dtype.kind == "f":
        return np.where(x == 0, x, np.sign(x))  # keeps -0.0; NaN stays NaN
    return np.sign(x)


def _logistic(node, x):
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


def _erf(node, x):
    """C's `erf` (numpy has none) on each element, in f64, rounded to x's dtype: glibc's
    is within 1 ulp in f64, so f32 results are correctly rounded or 1 ulp off."""
    return np.asarray(_ERF(x), dtype=x.dtype)


_ERF = np.frompyfunc(math.erf, 1, 1)


def _integer_pow(node, x, y):
    """JAX's chain: the product, in increasing order, of the squarings x, x**2, x**4, ...
    that |y|'s bits select; the reciprocal of that for y < 0; ones for y = 0."""
    if y == 0:
        return np.ones_like(x)
    squarings = [x]
    while 1 << len(squarings) <= abs(y):
        squarings.append(squarings[-1] * squarings[-1])
    product = functools.reduce(np.multiply, [p for k, p in enumerate(squarings) if abs(y) >> k & 1])
    return 1 / product if y < 0 else product


def _div(node, x, y):
    if x.dtype.kind == "f":
        return x / y
    q = np.floor_divide(x, y)
    return q + ((q < 0) & (q * y != x))


def _select(node, pred, on_true, on_false) -> np.ndarray:
    return np.where(pred, on_true, on_false)


_COMPARE = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
            "eq": np.equal, "ne": np.not_equal}


def _convert(node, x, dtype):
    target = dtype.np
    if x.dtype.kind == "f" and target.kind == "i":
        info = np.iinfo(target)
        truncated = np.trunc(np.where(np.isnan(x), 0, x))
        # the limits as floats of x's type: saturate first, then convert exactly
        low, high = x.dtype.type(info.min), x.dtype.type(info.max)
        return np.where(truncated <= low, info.min,
                        np.where(truncated >= high, info.max, truncated.astype(target)))
    return x.astype(target)


def _broadcast_in_dim(node, x, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for axis, n in zip(broadcast_dimensions, x.shape):
        expanded[axis] = n
    return np.broadcast_to(x.reshape(expanded), shape).copy()


def _reduce_max(node, x, axes):
    dtype = x.dtype
    lowest = -np.inf if dtype.kind == "f" else (False if dtype.kind == "b" else np.iinfo(dtype).min)
    return np.maximum.reduce(x, axis=tuple(axes), initial=lowest)


def _dot_general(node, x, y, contract, batch):
    (lc, rc), (lb, rb) = contract, batch
    if not lc:  # each entry is one product (einsum would add it to +0, making -0 +0)
        lfree = [i for i in range(x.ndim) if i not in lb]
        rfree = [i for i in range(y.ndim) if i not in rb]
        x = x.transpose([*lb, *lfree])
        y = y.transpose([*rb, *rfree])
        lead = x.shape[:len(lb)]
        return (x.reshape(x.shape + (1,) * len(rfree))
                * y.reshape(lead + (1,) * len(lfree) + y.shape[len(rb):]))
    letters = iter(string.ascii_letters)
    left, right = [""] * x.ndim, [""] * y.ndim
    for a, b in [*zip(lb, rb), *zip(lc, rc)]:
        left[a] = right[b] = next(letters)
    for i in range(x.ndim):
        left[i] = left[i] or next(letters)
    for i in range(y.ndim):
        right[i] = right[i] or next(letters)
    lfree = [left[i] for i in range(x.ndim) if i not in lc and i not in lb]
    rfree = [right[i] for i in range(y.ndim) if i not in rc and i not in rb]
    out = [left[i] for i in lb] + lfree + rfree
    return np.einsum(f"{''.join(left)},{''.join(right)}->{''.join(out)}", x, y, optimize=False)


def _slice(node, x, start, limit, stride):
    return x[tuple(slice(lo, hi, k) for lo, hi, k in zip(start, limit, stride))]


def _pad(node, x, low, high, interior):
    grown = [d + max(d - 1, 0) * k for d, k in zip(x.shape, interior)]
    out = np.zeros([g + max(lo, 0) + max(hi, 0) for g, lo, hi in zip(grown, low, high)], x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + g, k + 1) for g, lo, k in zip(grown, low, interior))] = x
    return out[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, lo, hi in zip(out.shape, low, high))]


def _check_indices(node, idx, n: int) -> None:
    """An index computed in the graph (one that is an argument was checked first)."""
    failed = first_outside(idx, n)
    if failed is not None:
        raise index_error(IndexCheck(None, n, node.span, node.prim.name, node.inputs[1].name, None), failed)


def _gather(node, x, idx, axis, batch_dims):
    _check_indices(node, idx, x.shape[axis])
    out = np.empty(x.shape[:axis] + idx.shape[batch_dims:] + x.shape[axis + 1:], x.dtype)
    for b in np.ndindex(*x.shape[:batch_dims]):
        out[b] = np.take(x[b], idx[b], axis=axis - batch_dims)
    return out


def _scatter_add(node, updates, idx, axis, batch_dims, shape):
    _check_indices(node, idx, shape[axis])
    out = np.zeros(shape, updates.dtype)
    lead = (slice(None),) * (axis - batch_dims)
    for b in np.ndindex(*shape[:batch_dims]):
        np.add.at(out[b], lead + (idx[b],), updates[b])
    return out


def _iota(node, shape, dimension, dtype):
    line = np.arange(shape[dimension], dtype=dtype.np)
    return np.broadcast_to(line.reshape([-1 if i == dimension else 1 for i in range(len(shape))]), shape)


reference_rules: dict[str, Callable[..., np.ndarray]] = {
    "neg": _ufunc(np.negative),
    "abs": _ufunc(np.abs),
    "sign": _sign,
    "exp": _ufunc(np.exp),
    "log": _ufunc(np.log),
    "log1p": _ufunc(np.log1p),
    "tanh": _ufunc(np.tanh),
    "logistic": _logistic,
    "sqrt": _ufunc(np.sqrt),
    "sin": _ufunc(np.sin),
    "cos": _ufunc(np.cos),
    "erf": _erf,
    "add": _ufunc(np.add),
    "sub": _ufunc(np.subtract),
    "mul": _ufunc(np.multiply),
    "div": _div,
    "pow": _ufunc(np.power),
    "integer_pow": _integer_pow,
    "max": _ufunc(np.maximum),
    "min": _ufunc(np.minimum),
    "compare": lambda node, x, y, direction: _COMPARE[direction](x, y),
    "select": _select,
    "convert": _convert,
    "stop_gradient": lambda node, x: x,
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": lambda node, x, shape: x.reshape(shape),
    "transpose": lambda node, x, permutation: x.transpose(permutation),
    "reduce_sum": lambda node, x, axes: np.add.reduce(x, axis=tuple(axes), dtype=x.dtype),
    "reduce_max": _reduce_max,
    "dot_general": _dot_general,
    "slice": _slice,
    "pad": _pad,
    "concatenate": lambda node, *xs, axis: np.concatenate(xs, axis=axis),
    "gather": _gather,
    "scatter_add": _scatter_add,
    "iota": _iota,
    "constant": lambda node, value, dtype: np.asarray(value, dtype=dtype.np),
}
