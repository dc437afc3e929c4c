"""`transpose`: turn a linear graph (tangents in, tangents out) into its adjoint.

The transposed graph takes (non-linear inputs..., cotangents of the outputs...) and
returns the cotangents of the linear inputs. Nodes that do not depend on a linear input
(constants, functions of residuals) are evaluated forward first; the linear nodes are then
walked in reverse, each by its rule in `transpose_rules`, and cotangents reaching a value
from several uses are accumulated with `add`.

Rule signature (as in JAX): `rule(b, ct, *inputs, **params) -> list[Value | None]`, one
cotangent per input, where each linear input arrives as an `UndefPrimal` (its type only)
and `None` means "no cotangent". A non-linear use of a linear input (`t * t`, `exp(t)`) is
a `TransformError`, never a silently wrong gradient.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ddc.errors import TransformError
from ddc.ir import Builder, Graph, TensorType, Value
from ddc.ir.primitives import strided_extent

from .cleanup import cleanup
from .util import traced


@dataclass(frozen=True)
class UndefPrimal:
    """Stands for a linear input in a transpose rule: we know its type, not its value."""

    type: TensorType

    @property
    def shape(self):
        return self.type.shape

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def ndim(self):
        return self.type.ndim


def is_undef(x) -> bool:
    return isinstance(x, UndefPrimal)


TransposeRule = Callable[..., list]
transpose_rules: dict[str, TransposeRule] = {}


# -- combinators ---------------------------------------------------------------------------

def deflinear(name: str, transpose_one: Callable) -> None:
    """A unary linear primitive: `transpose_one(b, ct, x, **params) -> Value`."""
    transpose_rules[name] = lambda b, ct, x, **p: [transpose_one(b, ct, x, **p)]


def defbilinear(name: str, lhs: Callable, rhs: Callable) -> None:
    """Linear in either operand when the other is known; both unknown is non-linear."""

    def rule(b, ct, x, y, **p):
        if is_undef(x) and is_undef(y):
            raise TransformError(f"{name} of two linear values is not linear")
        if is_undef(x):
            return [lhs(b, ct, x, y, **p), None]
        return [None, rhs(b, ct, x, y, **p)]

    transpose_rules[name] = rule


# -- the table -----------------------------------------------------------------------------

deflinear("neg", lambda b, ct, x: b.neg(ct))
deflinear("convert", lambda b, ct, x, dtype: b.convert(ct, dtype=x.dtype))
deflinear("reshape", lambda b, ct, x, shape: b.reshape(ct, shape=tuple(x.shape)))
deflinear("transpose", lambda b, ct, x, permutation: b.transpose(
    ct, permutation=tuple(sorted(range(len(permutation)), key=lambda i: permutation[i]))))
deflinear("reduce_sum", lambda b, ct, x, axes: b.broadcast_in_dim(
    ct, shape=tuple(x.shape), broadcast_dimensions=tuple(i for i in range(x.ndim) if i not in axes)))
defbilinear("mul", lambda b, ct, x, y: b.mul(ct, y), lambda b, ct, x, y: b.mul(x, ct))


def _add_t(b, ct, x, y):
    return [ct if is_undef(x) else None, ct if is_undef(y) else None]


def _sub_t(b, ct, x, y):
    return [ct if is_undef(x) else None, b.neg(ct) if is_undef(y) else None]


def _div_t(b, ct, x, y):
    if is_undef(y):
        raise TransformError("division by a linear value is not linear")
    return [b.div(ct, y), None]


def _select_t(b, ct, pred, on_true, on_false):
    if is_undef(pred):
        raise TransformError("select's predicate cannot be linear")
    zeros = b.zeros(ct.type)
    return [
        None,
        b.select(pred, ct, zeros) if is_undef(on_true) else None,
        b.select(pred, zeros, ct) if is_undef(on_false) else None,
    ]


def _broadcast_t(b, ct, x, shape, broadcast_dimensions):
    """Sum over the new dims and over the size-1 dims that were stretched."""
    stretched = [bd for bd, d in zip(broadcast_dimensions, x.shape) if d == 1 and shape[bd] != 1]
    new = [i for i in range(len(shape)) if i not in broadcast_dimensions]
    axes = tuple(sorted(new + stretched))
    summed = b.reduce_sum(ct, axes=axes) if axes else ct
    if tuple(summed.shape) != tuple(x.shape):
        summed = b.reshape(summed, shape=tuple(x.shape))
    return [summed]


def _dot_general_t(b, ct, x, y, contract, batch):
    (lc, rc), (lb, rb) = contract, batch
    nb = len(lb)
    if is_undef(x) and is_undef(y):
        raise TransformError("dot_general of two linear values is not linear")
    lf = [i for i in range(x.ndim) if i not in lc and i not in lb]
    rf = [i for i in range(y.ndim) if i not in rc and i not in rb]
    ct_batch = tuple(range(nb))
    ct_lf = tuple(range(nb, nb + len(lf)))
    ct_rf = tuple(range(nb + len(lf), nb + len(lf) + len(rf)))
    if is_undef(x):
        # ct . y over y's free dims; result: batch, x's free dims, y's contracting dims
        r = b.dot_general(ct, y, contract=(ct_rf, tuple(rf)), batch=(ct_batch, tuple(rb)))
        layout = list(lb) + lf + [lc[rc.index(d)] for d in sorted(rc)]
        return [_to_layout(b, r, layout), None]
    r = b.dot_general(ct, x, contract=(ct_lf, tuple(lf)), batch=(ct_batch, tuple(lb)))
    layout = list(rb) + rf + [rc[lc.index(d)] for d in sorted(lc)]
    return [None, _to_layout(b, r, layout)]


def _to_layout(b, r: Value, layout: list[int]) -> Value:
    """`r`'s dim k is operand dim layout[k]; transpose it into operand order."""
    perm = tuple(layout.index(i) for i in range(len(layout)))
    return r if perm == tuple(range(len(perm))) else b.transpose(r, permutation=perm)


def _slice_t(b, ct, x, start, limit, stride):
    high = tuple(d - s - strided_extent(n, k) for d, s, n, k in zip(x.shape, start, ct.shape, stride))
    return [b.pad(ct, low=tuple(start), high=high, interior=tuple(k - 1 for k in stride))]


def _pad_t(b, ct, x, low, high, interior):
    limit = tuple(lo + strided_extent(d, it + 1) for d, lo, it in zip(x.shape, low, interior))
    return [b.slice(ct, start=tuple(low), limit=limit, stride=tuple(it + 1 for it in interior))]


def _concatenate_t(b, ct, *xs, axis):
    out, offset = [], 0
    for x in xs:
        end = offset + x.shape[axis]
        if is_undef(x):
            start = tuple(offset if i == axis else 0 for i in range(ct.ndim))
            limit = tuple(end if i == axis else d for i, d in enumerate(ct.shape))
            out.append(b.slice(ct, start=start, limit=limit, stride=(1,) * ct.ndim))
        else:
            out.append(None)
        offset = end
    return out


def _gather_t(b, ct, x, idx, axis, batch_dims):
    if is_undef(idx):
        raise TransformError("gather indices cannot be linear")
    return [b.scatter_add(ct, idx, axis=axis, batch_dims=batch_dims, shape=tuple(x.shape)), None]


def _scatter_add_t(b, ct, updates, idx, axis, batch_dims, shape):
    if is_undef(idx):
        raise TransformError("scatter_add indices cannot be linear")
    return [b.gather(ct, idx, axis=axis, batch_dims=batch_dims), None]


transpose_rules.update({
    "add": _add_t, "sub": _sub_t, "div": _div_t, "select": _select_t,
    "broadcast_in_dim": _broadcast_t, "dot_general": _dot_general_t, "slice": _slice_t,
    "pad": _pad_t, "concatenate": _concatenate_t, "gather": _gather_t,
    "scatter_add": _scatter_add_t,
})


# -- the pass ------------------------------------------------------------------------------

@traced("transpose")
def transpose(graph: Graph, linear: Sequence[bool]) -> Graph:
    """Inputs of the result: graph inputs not in `linear`, then one cotangent per output.
    Outputs: one cotangent per linear input (zeros where nothing flows)."""
    lin_ids = {v.id for v, is_linear in zip(graph.inputs, linear) if is_linear}
    depends: set[int] = set(lin_ids)
    for n in graph.nodes:
        if any(v.id in depends for v in n.inputs):
            depends.add(n.out.id)

    b = Builder(origin="cotangent")
    fixed = [v for v, is_linear in zip(graph.inputs, linear) if not is_linear]
    fixed_in = [Value(v.type, v.name, v.origin) for v in fixed]
    ct_in = [Value(v.type, f"ct_{v.name}" if v.name else "ct", "cotangent") for v in graph.outputs]
    env: dict[int, Value] = {old.id: new for old, new in zip(fixed, fixed_in)}
    forward = [n for n in graph.nodes if n.out.id not in depends]
    for n in forward:  # the non-linear part, evaluated as is
        b.span = n.span
        env[n.out.id] = b.bind(n.prim, *[env[v.id] for v in n.inputs], **n.params)

    cts: dict[int, Value] = {}

    def accumulate(v: Value, ct: Value | None) -> None:
        if ct is None:
            return
        cts[v.id] = b.add(cts[v.id], ct) if v.id in cts else ct

    for v, seed in zip(graph.outputs, ct_in):
        if v.id in depends:
            accumulate(v, seed)
    for n in reversed([n for n in graph.nodes if n.out.id in depends]):
        ct = cts.pop(n.out.id, None)
        if ct is None:
            continue
        b.span = n.span
        rule = transpose_rules.get(n.prim.name)
        if rule is None or not n.prim.linear:
            raise TransformError(
                f"{n.prim.name} is not linear in its tangent input; cannot transpose it", n.span)
        args = [UndefPrimal(v.type) if v.id in depends else env[v.id] for v in n.inputs]
        try:
            in_cts = rule(b, ct, *args, **n.params)
        except TransformError as e:
            raise TransformError(e.message, e.span or n.span) from None
        for v, c in zip(n.inputs, in_cts):
            if v.id in depends:
                accumulate(v, c)
    b.span = None
    outs = [cts.get(v.id) or b.zeros(v.type) for v, is_linear in zip(graph.inputs, linear) if is_linear]
    return cleanup(b.graph(fixed_in + ct_in, outs, f"transpose_{graph.name}"))
