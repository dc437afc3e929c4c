"""Indexing `x[...]`: its type rule and its lowering, together.

Supported, with numpy's meaning: integers (negative count from the end, also on symbolic
dims: `x[-1]` on a dim `n` is element `n-1`), basic slices `a:b:k` with a positive step,
`...`, one integer tensor (`x[idx]`, `x[:, idx]`: a gather along that axis), and numpy's
label-picking idiom `z[arange(n), idx]`: row i's entry at idx[i], for an `idx` of shape [n]
(also `z[arange(n), :, idx]`, as numpy puts the picked dim first there too).

Lowering: one `slice` for all the basic items, a `reshape` that drops the integer-indexed
axes, then a `gather` for a tensor index; label picking is one `gather` with
`batch_dims=1`, so neither a one-hot mask nor an [n, n] intermediate is ever made.
"""
from __future__ import annotations

from ddc.errors import DDTypeError
from ddc.ir.primitives import slice_length

from . import shapes as S
from .types import shape_str

# An item, as the checker classifies it:
#   ("slice", start, stop, step)   constants or None
#   ("index", i)                   a constant integer (or dim)
#   ("take", index_shape)          an integer tensor
#   ("range", k)                   arange(k), an integer tensor the checker recognised
#   ("ellipsis",)


def _expand(items: list[tuple], ndim: int) -> list[tuple]:
    if sum(1 for it in items if it[0] == "ellipsis") > 1:
        raise DDTypeError("an index can only have a single '...'")
    used = sum(1 for it in items if it[0] != "ellipsis")
    if used > ndim:
        raise DDTypeError(f"too many indices: {used} for a tensor of rank {ndim}")
    full = [("slice", None, None, None)] * (ndim - used)
    if not any(it[0] == "ellipsis" for it in items):
        return items + full
    at = next(i for i, it in enumerate(items) if it[0] == "ellipsis")
    return items[:at] + full + items[at + 1:]


def _label_picking(items: list[tuple], shape: tuple) -> bool:
    """Whether the tensor indices are `x[arange(n), idx]` (raising when two tensor indices
    are anything else): arange over all of the leading dim, then an index of shape [n]."""
    tensors = [it for it in items if it[0] in ("take", "range")]
    if len(tensors) < 2:
        return False
    if len(tensors) > 2 or items[0][0] != "range" or tensors[1][0] != "take":
        raise DDTypeError("two tensor indices are supported only as x[arange(n), idx], which picks "
                          "entry idx[i] of each row i; otherwise index in two steps")
    rows, idx_shape = items[0][1], tuple(tensors[1][1])
    if rows != shape[0]:
        raise DDTypeError(f"x[arange({rows}), idx] must cover the whole leading dim of x, of size {shape[0]}")
    if idx_shape != (rows,):
        raise DDTypeError(f"x[arange({rows}), idx] picks one entry per row, so idx must have shape "
                          f"[{rows}], got {shape_str(idx_shape)}")
    return True


def check_index(shape: tuple, items: list[tuple]):
    """(result shape, plan) of indexing a tensor of `shape`."""
    items = _expand(items, len(shape))
    picking = _label_picking(items, shape)
    takes = [it for it in items if it[0] == "take" or (it[0] == "range" and not picking)]
    if len(takes) > 1:
        raise DDTypeError("only one tensor index is supported (besides x[arange(n), idx]); index in two steps")
    if takes and any(it[0] == "index" for it in items):
        raise DDTypeError("mixing integer and tensor indices is not supported; index in two steps")
    start, limit, stride, kept = [], [], [], []
    gather_axis = None
    for it, size in zip(items, shape):
        if it[0] == "slice":
            lo, hi, step = S.slice_bounds(it[1], it[2], it[3], size)
            kept.append(slice_length(lo, hi, step))
        elif it[0] == "index":
            lo, hi = S.index_bounds(it[1], size)
            step = 1
        else:
            lo, hi, step = 0, size, 1
            if it in takes:
                gather_axis = len(kept)
            kept.append(size)
        start.append(lo)
        limit.append(hi)
        stride.append(step)
    out = list(kept)
    if gather_axis is not None:
        index_shape = (takes[0][1],) if takes[0][0] == "range" else takes[0][1]
        out[gather_axis:gather_axis + 1] = index_shape[int(picking):]
    plan = {"start": tuple(start), "limit": tuple(limit), "stride": tuple(stride),
            "kept": tuple(kept), "gather_axis": gather_axis, "batch_dims": int(picking)}
    return tuple(out), plan


def lower_index(l):
    x = l.tensor("x", l.out.dtype)
    p = l.plan
    if p["start"] != (0,) * x.ndim or p["limit"] != tuple(x.shape) or p["stride"] != (1,) * x.ndim:
        x = l.b.slice(x, start=p["start"], limit=p["limit"], stride=p["stride"])
    x = l.reshape(x, p["kept"])
    if p["gather_axis"] is not None:
        x = l.b.gather(x, l.tensor("indices", l.join("indices")), axis=p["gather_axis"], batch_dims=p["batch_dims"])
    return x
