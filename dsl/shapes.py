"""Shape logic on symbolic dims, shared by the checker and the lowering.

Dims are ints or `Sym` polynomials (`ir.dims`). Two symbolic dims are equal only when
they are the same polynomial: `n` and `k` never broadcast against each other, because the
checker cannot know they agree at run time. Functions here raise `DDTypeError` without a
span; the checker attaches the span of the expression it is checking.
"""
from __future__ import annotations

import math

from ddc.errors import DDTypeError
from ddc.ir import dims as D

from .types import shape_str

Shape = tuple[D.Dim, ...]


MAX_SIZE = 2**63 - 1  # numpy indexes with int64: no dim, and no array, has more elements


def check_size(shape: Shape) -> None:
    """A shape numpy can index: each dim's constants, and the product of its constant
    dims, at most MAX_SIZE (`eye(4000000000)` would otherwise try to allocate)."""
    constants = [c for d in shape for c in ((d,) if isinstance(d, int) else (c for _, c in d.terms))]
    known = math.prod(d for d in shape if isinstance(d, int))
    if any(abs(c) > MAX_SIZE for c in constants) or known > MAX_SIZE:
        raise DDTypeError(f"the shape {shape_str(shape)} has more than {MAX_SIZE} (2**63 - 1) elements, "
                          "more than numpy can index")


def broadcast_shapes(*shapes: Shape) -> Shape:
    """numpy broadcasting: align trailing dims; each pair must be equal or contain a 1."""
    ndim = max((len(s) for s in shapes), default=0)
    out: list[D.Dim] = [1] * ndim
    for s in shapes:
        for i, d in enumerate(s, start=ndim - len(s)):
            if d == out[i] or d == 1:
                continue
            if out[i] != 1:
                listed = " and ".join(shape_str(x) for x in shapes)
                raise DDTypeError(
                    f"shapes {listed} do not broadcast: dim {out[i]} vs {d} (numpy aligns "
                    f"trailing dims, which must be equal or 1)"
                )
            out[i] = d
    return tuple(out)


def normalize_axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise DDTypeError(f"{what} {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim if ndim else 0


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """`axis=` of a reduction: None (all axes), an int or a tuple; negatives count from the end."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(normalize_axis(a, ndim) for a in (axis if isinstance(axis, tuple) else (axis,)))
    if len(set(axes)) != len(axes):
        raise DDTypeError(f"repeated axis in {axis}")
    return tuple(sorted(axes))


def reduced_shape(shape: Shape, axes: tuple[int, ...], keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def matmul_shape(a: Shape, b: Shape, shown=None) -> tuple[Shape, Shape]:
    """numpy matmul: (batch shape, result shape). 1-D operands get a dim prepended (lhs) or
    appended (rhs) that is removed from the result; batch dims broadcast. `shown` is how
    to print the operands in an error (their full types)."""
    if not a or not b:
        raise DDTypeError("matmul needs operands of rank >= 1; use * for scalars")
    k_a = a[-1]
    k_b = b[0] if len(b) == 1 else b[-2]
    if k_a != k_b:
        left, right = shown or (shape_str(a), shape_str(b))
        raise DDTypeError(
            f"matmul shapes {left} @ {right} do not match: the contracted dims "
            f"are {k_a} (last of the left) and {k_b} ("
            + ("only dim" if len(b) == 1 else "second to last")
            + " of the right); they must be equal"
        )
    batch = broadcast_shapes(a[:-2], b[:-2])
    rows = a[-2:-1] if len(a) >= 2 else ()
    cols = b[-1:] if len(b) >= 2 else ()
    return batch, batch + rows + cols


def reshape_shape(old: Shape, new: tuple) -> Shape:
    """The target of `reshape`, with at most one -1 inferred from the sizes."""
    if sum(1 for d in new if d == -1) > 1:
        raise DDTypeError("reshape: at most one dim may be -1")
    size = D.product(old)
    if -1 in new:
        known = D.product(d for d in new if d != -1)
        inferred = D.divide(size, known)
        if inferred is None:
            raise DDTypeError(f"reshape: cannot infer -1: size {size} is not a multiple of {known}")
        new = tuple(inferred if d == -1 else d for d in new)
    if D.product(new) != size:
        raise DDTypeError(
            f"cannot reshape {shape_str(old)} to {shape_str(new)}: sizes {size} and {D.product(new)} differ"
        )
    return tuple(new)


def broadcast_to_shape(shape: Shape, target: Shape) -> Shape:
    if len(shape) > len(target) or broadcast_shapes(shape, target) != tuple(target):
        raise DDTypeError(f"cannot broadcast {shape_str(shape)} to {shape_str(target)}")
    return tuple(target)


# -- indexing ---------------------------------------------------------------------------------

def _bound(i: D.Dim, size: D.Dim) -> D.Dim:
    """A slice bound with Python's meaning of negatives; clamped where sizes are known."""
    if isinstance(i, int) and i < 0:
        i = size + i
        if isinstance(i, int):
            i = max(i, 0)
    if isinstance(i, int) and isinstance(size, int):
        i = min(i, size)
    return i


def slice_bounds(start, stop, step, size: D.Dim) -> tuple[D.Dim, D.Dim, int]:
    """(start, limit, stride) of `x[start:stop:step]` along a dim of `size`."""
    step = 1 if step is None else step
    if not isinstance(step, int) or step <= 0:
        raise DDTypeError(f"slice step must be a positive integer constant, got {step}")
    lo = 0 if start is None else _bound(start, size)
    hi = size if stop is None else _bound(stop, size)
    extent = hi - lo
    if isinstance(extent, int) and extent < 0:
        hi = lo
    elif step != 1 and not isinstance(extent, int):
        raise DDTypeError(f"a slice with step {step} needs a known length, but it is {extent}")
    return lo, hi, step


def index_bounds(i, size: D.Dim) -> tuple[D.Dim, D.Dim]:
    """(start, limit) selecting element `i` (negative counts from the end)."""
    if isinstance(i, int):
        if isinstance(size, int) and not -size <= i < size:
            raise DDTypeError(f"index {i} is out of range for a dim of size {size}")
        if i < 0:
            i = size + i
    return i, i + 1



# -- signatures -------------------------------------------------------------------------------

def unify(spec_shape: tuple, shape: Shape, bindings: dict[str, D.Dim]) -> str | None:
    """Bind the dim names of a signature shape to an argument's dims (in `bindings`).
    Returns a description of the first mismatch, or None."""
    if len(spec_shape) != len(shape):
        return f"rank {len(shape)} instead of {len(spec_shape)}"
    for want, got in zip(spec_shape, shape):
        if isinstance(want, int):
            if got != want:
                return f"dim {got} where the signature says {want}"
        elif want not in bindings:
            bindings[want] = got
        elif bindings[want] != got:
            return f"dim {want} = {got}, but an earlier argument bound {want} = {bindings[want]}"
    return None


def substitute(x, env: dict[str, D.Dim]):
    """Replace dim names in a dim, or in (nested tuples of) dims and other values."""
    if isinstance(x, D.Sym):
        return D.substitute(x, env)
    if isinstance(x, tuple):
        return tuple(substitute(v, env) for v in x)
    if isinstance(x, list):
        return [substitute(v, env) for v in x]
    if isinstance(x, dict):
        return {k: substitute(v, env) for k, v in x.items()}
    return x
