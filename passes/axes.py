"""`in_axes` and `out_axes` of vmap, read one way for the Python API, the `.dd` transforms,
the CLI and the pass itself.

An entry is an int (where the batch dim is; negatives count from the end of the *batched*
rank, as in JAX) or None (not mapped). An int or None given alone stands for every
argument (output); a tuple or list has one entry per argument (output).
"""
from __future__ import annotations

from ddc.errors import TransformError


def _is_entry(a) -> bool:
    return a is None or (isinstance(a, int) and not isinstance(a, bool))


def check_axes(axes, what: str):
    """`axes` unchanged when it is an int, None, or a tuple or list of those."""
    if not (_is_entry(axes) or (isinstance(axes, (tuple, list)) and all(_is_entry(a) for a in axes))):
        raise TransformError(f"vmap: {what} must be an int or None, or a tuple of those, got {axes!r}")
    return axes


def axes_per_entry(axes, count: int, what: str, noun: str) -> tuple[int | None, ...]:
    """One entry for each of `count` arguments or outputs (`noun` names them in errors)."""
    check_axes(axes, what)
    if _is_entry(axes):
        return (axes,) * count
    if len(axes) != count:
        raise TransformError(f"vmap: {what} has {len(axes)} entries for {count} {noun}")
    return tuple(axes)


def batch_axis(axis: int, rank: int, what: str, span=None) -> int:
    """`axis` as a non-negative index into a batched value of `rank` dims."""
    if not -rank <= axis < rank:
        raise TransformError(f"vmap: {what} = {axis} is out of range: the batched tensor has rank {rank}", span)
    return axis % rank


def in_batch_axes(in_axes, ranks: list[int], noun: str = "arguments", spans=None) -> list[int | None]:
    """Where each argument holds the batch; `ranks` are the batched arguments' ranks, `spans`
    (if given) where they are, for errors. At least one argument must be mapped."""
    axes = axes_per_entry(in_axes, len(ranks), "in_axes", noun)
    dims = [None if a is None else batch_axis(a, r, f"in_axes[{i}]", spans[i] if spans else None)
            for i, (a, r) in enumerate(zip(axes, ranks))]
    if all(d is None for d in dims):
        raise TransformError("vmap: in_axes maps no input (every entry is None); "
                             "it needs at least one mapped argument")
    return dims


def out_batch_axes(out_axes, ranks: list[int], noun: str = "outputs") -> list[int | None]:
    """Where each output holds the batch; `ranks` are the unbatched outputs' ranks."""
    axes = axes_per_entry(out_axes, len(ranks), "out_axes", noun)
    return [None if a is None else batch_axis(a, r + 1, f"out_axes[{i}]") for i, (a, r) in enumerate(zip(axes, ranks))]
