"""Indexing `x[...]`: its type rule and its lowering, together.

Supported, with numpy's meaning: integers (negative count from the end, also on symbolic
dims: `x[-1]` on a dim `n` is element `n-1`), basic slices `a:b:k` with a positive step,
`...`, and one integer tensor (`x[idx]`, `x[:, idx]`: a gather along that axis).

Lowering: one `slice` for all the basic items, a `reshape` that drops the integer-indexed
axes, then a `gather` for a tensor index.
"""
from __future__ import annotations

from ddc.errors import DDTypeError
from ddc.ir.primitives import slice_length

from . import shapes as S

# An item, as the checker classifies it:
#   ("slice", start, stop, step)   constants or None
#   ("index", i)                   a constant integer (or dim)
#   ("take", index_shape)          an integer tensor
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


def check_index(shape: tuple, items: list[tuple]):
    """(result shape, plan) of indexing a tensor of `shape`."""
    items = _expand(items, len(shape))
    takes = [it for it in items if it[0] == "take"]
    if len(takes) > 1:
        raise DDTypeError("only one tensor index is supported; index in two steps")
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
            gather_axis = len(kept)
            kept.append(size)
        start.append(lo)
        limit.append(hi)
        stride.append(step)
    out = list(kept)
    if gather_axis is not None:
        out[gather_axis:gather_axis + 1] = takes[0][1]
    plan = {"start": tuple(start), "limit": tuple(limit), "stride": tuple(stride),
            "kept": tuple(kept), "gather_axis": gather_axis}
    return tuple(out), plan


def lower_index(l):
    x = l.tensor("x", l.out.dtype)
    p = l.plan
    if p["start"] != (0,) * x.ndim or p["limit"] != tuple(x.shape) or p["stride"] != (1,) * x.ndim:
        x = l.b.slice(x, start=p["start"], limit=p["limit"], stride=p["stride"])
    x = l.reshape(x, p["kept"])
    if p["gather_axis"] is not None:
        x = l.b.gather(x, l.tensor("indices", l.join("indices")), axis=p["gather_axis"], batch_dims=0)
    return x
