"""The primitive set, closed under differentiation and batching, with its type rules.

Elementwise primitives take operands of one identical type (lowering inserts explicit
`broadcast_in_dim` and `convert`, as JAX's lax does), so AD and batching rules never have
to reason about implicit broadcasting. Higher-level names (`relu`, `softmax`, `matmul`,
`mean`) are lowered to these in `dsl/lower.py` or written in the stdlib.

Every table keyed by primitive (jvp, transpose, batching, numpy, Triton) is checked
against `PRIMITIVES` by a test, so a primitive cannot be half-added.
"""
from __future__ import annotations

from typing import NoReturn

from .errors import IRError

from . import dims as D
from .core import Primitive, register
from .dtypes import DType, bool_
from .types import TensorType


def _fail(prim: str, msg: str) -> NoReturn:
    raise IRError(f"{prim}: {msg}")


def _same_types(prim: str, ts: list[TensorType]) -> TensorType:
    for t in ts[1:]:
        if t != ts[0]:
            _fail(prim, f"operand types differ: {ts[0]} vs {t}")
    return ts[0]


# -- elementwise ---------------------------------------------------------------------------

UNARY_FLOAT = ("exp", "log", "log1p", "tanh", "logistic", "sqrt", "sin", "cos", "erf")
UNARY_ANY = ("neg", "abs", "sign")
BINARY_ARITH = ("add", "sub", "mul", "div", "max", "min")
BINARY_FLOAT = ("pow",)
COMPARE_DIRECTIONS = ("lt", "le", "gt", "ge", "eq", "ne")


def _elementwise(name: str, float_only: bool):
    """Operands of one type (any number of them), which is also the result type."""

    def rule(ts):
        t = _same_types(name, ts)
        if float_only and not t.dtype.is_float:
            _fail(name, f"needs float operands, got {t}")
        if t.dtype.is_bool:
            _fail(name, f"not defined on bool, got {t}")
        return t

    return rule


for _n in UNARY_FLOAT:
    register(Primitive(_n, _elementwise(_n, True), elementwise=True,
                       finite_to_finite=_n in ("tanh", "logistic", "sin", "cos", "erf")))
for _n in UNARY_ANY:
    register(Primitive(_n, _elementwise(_n, False), elementwise=True, linear=_n == "neg",
                       finite_to_finite=True, cheap=True))
for _n in BINARY_ARITH:
    register(Primitive(_n, _elementwise(_n, False), arity=2, elementwise=True,
                       linear=_n in ("add", "sub", "mul", "div"), commutative=_n in ("add", "mul", "max", "min"),
                       finite_to_finite=_n in ("max", "min"), cheap=_n != "div"))
for _n in BINARY_FLOAT:
    register(Primitive(_n, _elementwise(_n, True), arity=2, elementwise=True))


def _integer_pow_rule(ts, y):
    """`x ** y` for a constant int `y` (JAX's `lax.integer_pow`): a chain of multiplications
    (`numpy_runtime.multiply_out`), so `x ** 0` is 1 and its derivatives are exact at 0."""
    if not isinstance(y, int) or isinstance(y, bool) or not -2 ** 63 <= y < 2 ** 63:
        _fail("integer_pow", f"the exponent must be an int that fits i64, got {y!r}")
    return _elementwise("integer_pow", True)(ts)


register(Primitive("integer_pow", _integer_pow_rule, ("y",), elementwise=True))


def _compare_rule(ts, direction):
    if direction not in COMPARE_DIRECTIONS:
        _fail("compare", f"unknown direction {direction!r}")
    t = _same_types("compare", ts)
    return t.with_dtype(bool_)


register(Primitive("compare", _compare_rule, ("direction",), arity=2, elementwise=True, cheap=True))


def _select_rule(ts):
    pred, on_true, on_false = ts
    if not pred.dtype.is_bool:
        _fail("select", f"predicate must be bool, got {pred}")
    t = _same_types("select", [on_true, on_false])
    if pred.shape != t.shape:
        _fail("select", f"predicate shape {pred} differs from {t}")
    return t


# linear in on_true/on_false (the predicate is never differentiated)
register(Primitive("select", _select_rule, arity=3, elementwise=True, linear=True, finite_to_finite=True,
                   cheap=True))


def _convert_rule(ts, dtype: DType):
    (t,) = ts
    return t.with_dtype(dtype)


register(Primitive("convert", _convert_rule, ("dtype",), elementwise=True, linear=True, cheap=True))


def _identity_rule(ts):
    return ts[0]


register(Primitive("stop_gradient", _identity_rule, elementwise=True, view=True, finite_to_finite=True, cheap=True))


# -- structural ----------------------------------------------------------------------------

def _check_axes(prim: str, axes, ndim: int, distinct=True):
    for a in axes:
        if not isinstance(a, int) or not 0 <= a < ndim:
            _fail(prim, f"axis {a} out of range for rank {ndim}")
    if distinct and len(set(axes)) != len(axes):
        _fail(prim, f"repeated axes {axes}")


def _broadcast_rule(ts, shape, broadcast_dimensions):
    (t,) = ts
    shape = tuple(D.as_dim(d) for d in shape)
    if len(broadcast_dimensions) != t.ndim:
        _fail("broadcast_in_dim", f"{t} needs {t.ndim} broadcast_dimensions, got {broadcast_dimensions}")
    _check_axes("broadcast_in_dim", broadcast_dimensions, len(shape))
    if list(broadcast_dimensions) != sorted(broadcast_dimensions):
        _fail("broadcast_in_dim", f"broadcast_dimensions must increase: {broadcast_dimensions}")
    for i, od in zip(broadcast_dimensions, t.shape):
        if od != 1 and od != shape[i]:
            _fail("broadcast_in_dim", f"cannot broadcast dim {od} of {t} to {shape[i]}")
    return t.with_shape(shape)


register(Primitive("broadcast_in_dim", _broadcast_rule, ("shape", "broadcast_dimensions"), linear=True,
                   broadcast=True, finite_to_finite=True, cheap=True))


def _reshape_rule(ts, shape):
    (t,) = ts
    shape = tuple(D.as_dim(d) for d in shape)
    if TensorType(t.dtype, shape).size() != t.size():
        _fail("reshape", f"cannot reshape {t} to [{', '.join(map(str, shape))}]: sizes differ")
    return t.with_shape(shape)


register(Primitive("reshape", _reshape_rule, ("shape",), linear=True, view=True, finite_to_finite=True, cheap=True))


def _transpose_rule(ts, permutation):
    (t,) = ts
    if sorted(permutation) != list(range(t.ndim)):
        _fail("transpose", f"{permutation} is not a permutation of {t.ndim} axes")
    return t.with_shape(t.shape[p] for p in permutation)


register(Primitive("transpose", _transpose_rule, ("permutation",), linear=True, view=True, finite_to_finite=True,
                   cheap=True))


def _reduce_rule(name):
    def rule(ts, axes):
        (t,) = ts
        _check_axes(name, axes, t.ndim)
        if t.dtype.is_bool and name == "reduce_sum":
            _fail(name, "convert bool to a number before summing")
        return t.with_shape(d for i, d in enumerate(t.shape) if i not in axes)

    return rule


register(Primitive("reduce_sum", _reduce_rule("reduce_sum"), ("axes",), linear=True, reduction=True))
register(Primitive("reduce_max", _reduce_rule("reduce_max"), ("axes",), reduction=True))


def _dot_general_rule(ts, contract, batch):
    lhs, rhs = ts
    (lc, rc), (lb, rb) = contract, batch
    if lhs.dtype != rhs.dtype:
        _fail("dot_general", f"dtypes differ: {lhs} vs {rhs}")
    if lhs.dtype.is_bool:
        _fail("dot_general", "not defined on bool")
    if len(lc) != len(rc) or len(lb) != len(rb):
        _fail("dot_general", f"unpaired dims: contract={contract} batch={batch}")
    _check_axes("dot_general", tuple(lc) + tuple(lb), lhs.ndim)
    _check_axes("dot_general", tuple(rc) + tuple(rb), rhs.ndim)
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        if lhs.shape[a] != rhs.shape[b]:
            _fail("dot_general", f"dim {a} of {lhs} ({lhs.shape[a]}) != dim {b} of {rhs} ({rhs.shape[b]})")
    lfree = [d for i, d in enumerate(lhs.shape) if i not in lc and i not in lb]
    rfree = [d for i, d in enumerate(rhs.shape) if i not in rc and i not in rb]
    return lhs.with_shape([lhs.shape[i] for i in lb] + lfree + rfree)


register(Primitive("dot_general", _dot_general_rule, ("contract", "batch"), arity=2, linear=True))


def slice_length(start: D.Dim, limit: D.Dim, stride: int) -> D.Dim:
    """Elements in `range(start, limit, stride)`; symbolic only when stride is 1."""
    n = limit - start
    if stride == 1:
        return n
    if isinstance(n, int):
        return max(0, -(-n // stride))
    _fail("slice", f"a stride of {stride} needs a static extent, got {n}")


def _slice_rule(ts, start, limit, stride):
    (t,) = ts
    if not (len(start) == len(limit) == len(stride) == t.ndim):
        _fail("slice", f"start/limit/stride must each have {t.ndim} entries")
    if any(not isinstance(s, int) or s < 1 for s in stride):
        _fail("slice", f"strides must be positive ints, got {stride}")
    for d, s, e in zip(t.shape, start, limit):
        # Python slicing would silently clip or wrap these; the IR never means that.
        if isinstance(s, int) and s < 0 or isinstance(e, int) and isinstance(d, int) and e > d:
            _fail("slice", f"start {s} / limit {e} outside a dim of size {d}")
        if isinstance(e - s, int) and e - s < 0:
            _fail("slice", f"limit {e} before start {s}")
    return t.with_shape(slice_length(s, e, k) for s, e, k in zip(start, limit, stride))


register(Primitive("slice", _slice_rule, ("start", "limit", "stride"), linear=True, view=True, finite_to_finite=True,
                   cheap=True))


def strided_extent(n: D.Dim, stride: int) -> D.Dim:
    """How far `n` elements `stride` apart reach: (n - 1) * stride + 1, and 0 for none.
    Symbolic only when stride is 1 (as `slice_length` makes it)."""
    if stride == 1:
        return n
    if not isinstance(n, int):
        _fail("pad", f"a spacing of {stride} needs a static dim, got {n}")
    return max(n - 1, 0) * stride + min(n, 1)


def _pad_rule(ts, low, high, interior):
    (t,) = ts
    if not (len(low) == len(high) == len(interior) == t.ndim):
        _fail("pad", f"low/high/interior must each have {t.ndim} entries")
    if any(not isinstance(it, int) or it < 0 for it in interior):
        _fail("pad", f"interior padding must be non-negative ints, got {interior}")
    return t.with_shape(lo + strided_extent(d, it + 1) + hi
                        for d, lo, hi, it in zip(t.shape, low, high, interior))


# zero padding only: what the transpose of `slice` needs
register(Primitive("pad", _pad_rule, ("low", "high", "interior"), linear=True, finite_to_finite=True, cheap=True))


def _concatenate_rule(ts, axis):
    if not ts:
        _fail("concatenate", "needs at least one operand")
    first = ts[0]
    _check_axes("concatenate", (axis,), first.ndim)
    total: D.Dim = 0
    for t in ts:
        if t.dtype != first.dtype or t.ndim != first.ndim:
            _fail("concatenate", f"operands differ: {first} vs {t}")
        for i, (a, b) in enumerate(zip(first.shape, t.shape)):
            if i != axis and a != b:
                _fail("concatenate", f"dim {i} differs: {first} vs {t}")
        total = t.shape[axis] + total
    return first.with_shape(total if i == axis else d for i, d in enumerate(first.shape))


register(Primitive("concatenate", _concatenate_rule, ("axis",), arity=None, linear=True, finite_to_finite=True,
                   cheap=True))


def gather_shape(x: TensorType, idx: TensorType, axis: int, batch_dims: int):
    return x.shape[:axis] + idx.shape[batch_dims:] + x.shape[axis + 1:]


def _check_gather(prim, x, idx, axis, batch_dims):
    if not idx.dtype.is_int:
        _fail(prim, f"indices must be integers, got {idx}")
    if not 0 <= batch_dims <= min(axis, idx.ndim):
        _fail(prim, f"batch_dims={batch_dims} must be <= axis={axis} and <= rank of {idx}")
    if not 0 <= axis < x.ndim:
        _fail(prim, f"axis {axis} out of range for {x}")
    if x.shape[:batch_dims] != idx.shape[:batch_dims]:
        _fail(prim, f"leading {batch_dims} dims of {x} and {idx} differ")


def _gather_rule(ts, axis, batch_dims):
    """`x.take(idx, axis)`, mapped over `batch_dims` leading dims shared by x and idx.

    Output: x.shape[:axis] + idx.shape[batch_dims:] + x.shape[axis+1:]. With batch_dims=1
    and axis=1 this picks one entry per row (`logits[i, labels[i]]`), no one-hot needed.
    """
    x, idx = ts
    _check_gather("gather", x, idx, axis, batch_dims)
    return x.with_shape(gather_shape(x, idx, axis, batch_dims))


register(Primitive("gather", _gather_rule, ("axis", "batch_dims"), arity=2, linear=True, finite_to_finite=True,
                   index_operand=1))


def _scatter_add_rule(ts, axis, batch_dims, shape):
    """The transpose of `gather` in x: zeros of `shape`, with `updates` added at `idx`."""
    updates, idx = ts
    out = updates.with_shape(shape)
    _check_gather("scatter_add", out, idx, axis, batch_dims)
    if tuple(updates.shape) != tuple(gather_shape(out, idx, axis, batch_dims)):
        _fail("scatter_add", f"updates {updates} do not fit {out} at indices {idx}")
    return out


register(Primitive("scatter_add", _scatter_add_rule, ("axis", "batch_dims", "shape"), arity=2, linear=True,
                   index_operand=1))


def _iota_rule(ts, shape, dimension, dtype):
    t = TensorType(dtype, tuple(shape))
    _check_axes("iota", (dimension,), t.ndim)
    return t


register(Primitive("iota", _iota_rule, ("shape", "dimension", "dtype"), arity=0, broadcast=True))


def _constant_rule(ts, value, dtype):
    """A scalar literal. `value` is a Python bool/int/float, or a dim (the runtime size of a
    symbolic dim, e.g. `x / d`). Larger constants are built by broadcasting scalars."""
    ok = (
        isinstance(value, bool) if dtype.is_bool
        else isinstance(value, (int, D.Sym)) and not isinstance(value, bool) if dtype.is_int
        else isinstance(value, (float, int, D.Sym)) and not isinstance(value, bool)
    )
    if not ok:
        _fail("constant", f"value {value!r} does not fit dtype {dtype}")
    return TensorType(dtype, ())


register(Primitive("constant", _constant_rule, ("value", "dtype"), arity=0))
