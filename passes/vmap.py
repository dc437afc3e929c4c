"""Automatic batching: `vmap(graph, in_axes)` maps a graph over a new batch dim of its inputs.

Every value of the batched graph carries a *batch dim*: the axis that holds the batch, or
None when the value does not depend on the batch at all (JAX's `not_mapped`). The driver
walks the nodes once; a node whose inputs are all unbatched is copied as it is, any other
goes through its rule in `batch_rules`:

    rule(b, axis_size, values, batch_dims, **params) -> (value, batch_dim)

A rule emits primitives of the set into `b` and says where the batch dim of its result
is. Batch dims are moved only where a rule needs them somewhere else, and unbatched values
are broadcast only where a primitive demands identical operand types: a batched
activation times an unbatched weight stays one `dot_general`, with the batch dim as one
more free dim of the activation; the weight is never copied per example.

The batch size is a fresh symbolic dim (`B`, `B2`, ...), so it is bound, and checked
against every other batched argument, when the compiled function is called.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ddc.errors import TransformError
from ddc.ir import Builder, Dim, Graph, Sym, Value
from ddc.ir.core import ValueMap
from ddc.ir.primitives import BINARY_ARITH, BINARY_FLOAT, UNARY_ANY, UNARY_FLOAT

from .axes import in_batch_axes, out_batch_axes
from .util import traced

BatchDim = int | None
BatchRule = Callable[..., tuple[Value, BatchDim]]


# -- the driver ----------------------------------------------------------------------------

@traced("vmap")
def vmap(
    graph: Graph,
    in_axes: Sequence[int | None],
    out_axes: Sequence[int | None] | int | None = 0,
    axis_name: str | None = None,
) -> Graph:
    """The graph mapped over a new batch dim of the inputs with an int in `in_axes`.

    `in_axes[i]` is where input i gets its batch dim (negative counts from the end of the
    batched input's rank), or None for an input shared by every example. `out_axes` says
    where each output holds the batch (one entry for all outputs, or one per output); None
    means the output must not depend on the batch. `axis_name` names the batch dim (default:
    the first of `B`, `B2`, ... the graph does not already use).
    """
    in_dims = _input_batch_dims(graph, in_axes)
    out_dims = out_batch_axes(out_axes, [v.ndim for v in graph.outputs], f"outputs of {graph.name}")
    size = Sym.name(_batch_dim_name(graph, axis_name))

    b = Builder()
    env: ValueMap[tuple[Value, BatchDim]] = ValueMap()
    inputs = []
    for v, d in zip(graph.inputs, in_dims):
        t = v.type if d is None else v.type.with_shape(_insert(v.shape, d, size))
        batched = Value(t, v.name, v.origin)
        inputs.append(batched)
        env[v] = (batched, d)

    for n in graph.nodes:
        values = [env[v][0] for v in n.inputs]
        dims = [env[v][1] for v in n.inputs]
        rule = batch_rules[n.prim.name] if _any_batched(dims) else _unbatched(n.prim.name)
        b.span, b.origin = n.span, n.out.origin
        out, d = rule(b, size, values, dims, **n.params)
        out.name = n.out.name
        env[n.out] = (out, d)

    outputs = []
    for i, (v, out_axis) in enumerate(zip(graph.outputs, out_dims)):
        value, d = env[v]
        if out_axis is None:
            if d is not None:
                raise TransformError(
                    f"vmap: output {i} ({v.name or 'unnamed'}) depends on the batch, "
                    "but its out_axes entry is None"
                )
            outputs.append(value)
            continue
        if d is None:
            outputs.append(_with_batch_dim(b, value, size, out_axis))
        else:
            outputs.append(_moveaxis(b, value, d, out_axis))
    return b.graph(inputs, outputs, graph.name)


def _input_batch_dims(graph: Graph, in_axes) -> list[BatchDim]:
    if not isinstance(in_axes, (tuple, list)):  # a graph's caller says where each input's batch is
        raise TransformError(
            f"vmap: in_axes must be a tuple with one entry per input, got {in_axes!r}"
        )
    return in_batch_axes(in_axes, [v.ndim + 1 for v in graph.inputs], f"inputs of {graph.name}")


def _batch_dim_name(graph: Graph, axis_name: str | None) -> str:
    used = _dim_names(graph)
    if axis_name is not None:
        if not isinstance(axis_name, str) or not (axis_name.isascii() and axis_name.isidentifier()):
            raise TransformError(f"vmap: axis_name must be an identifier, got {axis_name!r}")
        if axis_name in used:
            raise TransformError(f"vmap: axis_name {axis_name!r} is already a dim of {graph.name}")
        return axis_name
    name, k = "B", 1
    while name in used:
        k += 1
        name = f"B{k}"
    return name


def _dim_names(graph: Graph) -> set[str]:
    """Every dim name in the graph's types and params (a constant may hold a dim)."""
    names: set[str] = set()
    for v in graph.inputs:
        names |= v.type.dim_names()
    for n in graph.nodes:
        names |= n.out.type.dim_names()
        for p in n.params.values():
            names |= _param_dim_names(p)
    return names


def _param_dim_names(p) -> set[str]:
    if isinstance(p, Sym):
        return p.names()
    if isinstance(p, (tuple, list)):
        return set().union(*(_param_dim_names(x) for x in p)) if p else set()
    return set()


def _any_batched(dims: Sequence[BatchDim]) -> bool:
    return any(d is not None for d in dims)


# -- moving and making batch dims ----------------------------------------------------------

def _insert(seq: Sequence, at: int, item) -> tuple:
    return (*seq[:at], item, *seq[at:])


def _shift(axes: Sequence[int], d: BatchDim) -> tuple[int, ...]:
    """Axes of an unbatched value renumbered for the batched one (batch dim at `d`)."""
    if d is None:
        return tuple(axes)
    return tuple(a + (a >= d) for a in axes)


def _moveaxis(b: Builder, x: Value, src: int, dst: int) -> Value:
    if src == dst:
        return x
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return b.bind("transpose", x, permutation=tuple(perm), name=x.name)


def _with_batch_dim(b: Builder, x: Value, size: Dim, at: int) -> Value:
    """An unbatched value broadcast along a new batch dim at `at`."""
    return b.bind(
        "broadcast_in_dim", x,
        shape=_insert(x.shape, at, size),
        broadcast_dimensions=_shift(range(x.ndim), at),
        name=x.name,
    )


def _align(b: Builder, size: Dim, values: list[Value], dims: list[BatchDim],
           target: int | None = None):
    """Every operand with its batch dim at one place: `target`, or by default where most
    batched operands already have it (so the fewest move). Unbatched operands are broadcast:
    only for primitives whose operands must agree in shape."""
    if target is None:
        batched = [d for d in dims if d is not None]
        target = max(batched, key=batched.count)
    aligned = [
        _with_batch_dim(b, x, size, target) if d is None else _moveaxis(b, x, d, target)
        for x, d in zip(values, dims)
    ]
    return aligned, target


# -- rule combinators ----------------------------------------------------------------------

def _unbatched(prim: str) -> BatchRule:
    """No operand depends on the batch (and nullary primitives never do): copy the node."""

    def rule(b, size, values, dims, **params):
        return b.bind(prim, *values, **params), None

    return rule


def _elementwise(prim: str) -> BatchRule:
    """Operands of one shape: batched ones meet at one batch dim, unbatched ones broadcast."""

    def rule(b, size, values, dims, **params):
        aligned, d = _align(b, size, values, dims)
        return b.bind(prim, *aligned, **params), d

    return rule


def _leading(prim: str, adjust: Callable[..., dict]) -> BatchRule:
    """The batch dim as an extra leading dim of every operand; `adjust(size, **params)`
    gives the params that account for it."""

    def rule(b, size, values, dims, **params):
        aligned, _ = _align(b, size, values, dims, target=0)
        return b.bind(prim, *aligned, **adjust(size, **params)), 0

    return rule


def _per_axis(prim: str, entries: Callable[[Dim], dict]) -> BatchRule:
    """For params holding one entry per axis (slice, pad): the batch dim stays where it is
    and gets the entries (`entries(size)`) that leave it whole."""

    def rule(b, size, values, dims, **params):
        (x,), (d,) = values, dims
        fill = entries(size)
        params = {k: _insert(v, d, fill[k]) if k in fill else v for k, v in params.items()}
        return b.bind(prim, x, **params), d

    return rule


# -- structural rules ----------------------------------------------------------------------

def _broadcast_in_dim(b, size, values, dims, shape, broadcast_dimensions):
    """The batch dim maps to a new output dim placed right after the output dim of the
    operand dim before it, which keeps broadcast_dimensions increasing."""
    (x,), (d,) = values, dims
    at = broadcast_dimensions[d - 1] + 1 if d > 0 else 0
    mapped = list(_shift(broadcast_dimensions, at))
    mapped.insert(d, at)
    out = b.broadcast_in_dim(x, shape=_insert(shape, at, size), broadcast_dimensions=tuple(mapped))
    return out, at


def _transpose(b, size, values, dims, permutation):
    (x,), (d,) = values, dims
    return b.transpose(x, permutation=_insert(_shift(permutation, d), d, d)), d


def _reduce(prim: str) -> BatchRule:
    def rule(b, size, values, dims, axes):
        (x,), (d,) = values, dims
        out = b.bind(prim, x, axes=_shift(axes, d))
        return out, d - sum(a < d for a in axes)

    return rule


def _concatenate(b, size, values, dims, axis):
    aligned, d = _align(b, size, values, dims)
    return b.concatenate(*aligned, axis=axis + (axis >= d)), d


def _dot_general(b, size, values, dims, contract, batch):
    """Both operands batched: the batch dim is one more dot_general batch dim (it leads the
    output). One operand batched: it is a free dim of that operand, so the other operand
    (typically a weight) is used as it is."""
    (lhs, rhs), (dl, dr) = values, dims
    (lc, rc), (lb, rb) = contract, batch
    lc, lb, rc, rb = _shift(lc, dl), _shift(lb, dl), _shift(rc, dr), _shift(rb, dr)
    if dl is not None and dr is not None:
        return b.dot_general(lhs, rhs, contract=(lc, rc), batch=((dl, *lb), (dr, *rb))), 0
    out = b.dot_general(lhs, rhs, contract=(lc, rc), batch=(lb, rb))
    # output dims: batch dims, then lhs free dims, then rhs free dims, each in axis order
    if dl is not None:
        return out, len(lb) + _free_axes_before(dl, lc + lb)
    lhs_free = lhs.ndim - len(lc) - len(lb)
    return out, len(lb) + lhs_free + _free_axes_before(dr, rc + rb)


def _free_axes_before(d: int, used: tuple[int, ...]) -> int:
    return d - sum(a < d for a in used)


# -- gather and scatter_add ----------------------------------------------------------------

_gather_leading = _leading(
    "gather", lambda size, axis, batch_dims: dict(axis=axis + 1, batch_dims=batch_dims + 1)
)


def _gather(b, size, values, dims, axis, batch_dims):
    """Both batched: one more shared leading dim (`batch_dims + 1`). Only x or only idx
    batched: the batch dim is an ordinary dim of that operand, outside the shared leading
    dims, and lands in the output where that operand's dims land."""
    (x, idx), (dx, di) = values, dims
    if dx is not None and di is not None:
        return _gather_leading(b, size, values, dims, axis=axis, batch_dims=batch_dims)
    if dx is not None:
        if dx < batch_dims:
            x, dx = _moveaxis(b, x, dx, batch_dims), batch_dims
        axis = axis + (axis >= dx)
        out = b.gather(x, idx, axis=axis, batch_dims=batch_dims)
        return out, dx if dx < axis else dx + idx.ndim - batch_dims - 1
    if di < batch_dims:
        idx, di = _moveaxis(b, idx, di, batch_dims), batch_dims
    return b.gather(x, idx, axis=axis, batch_dims=batch_dims), axis + di - batch_dims


_scatter_add_leading = _leading(
    "scatter_add",
    lambda size, axis, batch_dims, shape: dict(
        axis=axis + 1, batch_dims=batch_dims + 1, shape=(size, *shape)
    ),
)


def _scatter_add(b, size, values, dims, axis, batch_dims, shape):
    """Only updates batched: its batch dim is an ordinary dim of the result, outside the
    shared leading dims and the indexed dims. Batched indices scatter into one result per
    example, so updates (broadcast when unbatched) get a shared leading dim."""
    (updates, idx), (du, di) = values, dims
    if di is not None:
        return _scatter_add_leading(
            b, size, values, dims, axis=axis, batch_dims=batch_dims, shape=shape
        )
    indexed = idx.ndim - batch_dims  # updates dims axis .. axis+indexed come from idx
    if not (batch_dims <= du <= axis or du >= axis + indexed):
        updates, du = _moveaxis(b, updates, du, axis), axis
    if du <= axis:
        at, axis = du, axis + 1
    else:
        at = du - indexed + 1
    shape = _insert(shape, at, size)
    out = b.scatter_add(updates, idx, axis=axis, batch_dims=batch_dims, shape=shape)
    return out, at


# -- the table -----------------------------------------------------------------------------

batch_rules: dict[str, BatchRule] = {
    **{p: _elementwise(p) for p in UNARY_FLOAT + UNARY_ANY + BINARY_ARITH + BINARY_FLOAT},
    "compare": _elementwise("compare"),
    "select": _elementwise("select"),
    "convert": _elementwise("convert"),
    "integer_pow": _elementwise("integer_pow"),
    "stop_gradient": _elementwise("stop_gradient"),
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _leading("reshape", lambda size, shape: dict(shape=(size, *shape))),
    "transpose": _transpose,
    "reduce_sum": _reduce("reduce_sum"),
    "reduce_max": _reduce("reduce_max"),
    "dot_general": _dot_general,
    "slice": _per_axis("slice", lambda size: dict(start=0, limit=size, stride=1)),
    "pad": _per_axis("pad", lambda size: dict(low=0, high=0, interior=0)),
    "concatenate": _concatenate,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "iota": _unbatched("iota"),
    "constant": _unbatched("constant"),
}
