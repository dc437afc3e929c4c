"""Reverse mode and the derived transforms, composed from jvp, linearize, transpose, vmap.

- `vjp`   = transpose ∘ linearize: a primal graph (outputs + residuals) and a backward
            graph (residuals + output cotangents -> input cotangents).
- `grad`, `value_and_grad`: the vjp with a cotangent of 1, inlined into one graph.
- `jacfwd` = vmap(jvp) over the basis of the input, `jacrev` = vmap(vjp backward) over the
  basis of the output, `hessian` = jacfwd(jacrev). No special code for any of them.

Every result is cleaned up (cse, simplify, dce), so a gradient w.r.t. some arguments
computes nothing for the others.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ddc.errors import TransformError
from ddc.ir import Builder, Graph, Value, i32, inline, substitute_dims

from .argnums import check_scalar_output, in_given_order, normalize_argnums, wrt_mask
from .cleanup import cleanup
from .jvp import has_tangent, jvp
from .linearize import linearize
from .transpose import transpose
from .util import traced


def differentiable_argnums(graph: Graph, argnums: int | Sequence[int], what: str = "grad") -> tuple[int, ...]:
    """`argnums` normalized (in the order given), each naming a float input of `graph`."""
    nums = normalize_argnums(argnums, len(graph.inputs), graph.name, f"{what}: ")
    for a in nums:
        v = graph.inputs[a]
        if not has_tangent(v):
            raise TransformError(
                f"{what}: cannot differentiate {graph.name} w.r.t. argument {a} "
                f"'{v.name or a}' of type {v.type}: only float arguments have gradients",
                hint="mark it with argnums of the float arguments only")
    return nums


@dataclass
class VJP:
    primal: Graph  # inputs -> outputs..., residuals...
    # [dim parameters] residuals..., cotangents of float outputs... -> cotangents of wrt inputs
    backward: Graph
    num_outputs: int
    num_residuals: int


@traced("vjp")
def vjp(graph: Graph, wrt: Sequence[bool] | None = None) -> VJP:
    lin = linearize(graph, wrt)
    n_tangents = len(lin.linear.inputs) - lin.num_residuals
    backward = transpose(lin.linear, [False] * lin.num_residuals + [True] * n_tangents)
    backward.name = f"vjp_{graph.name}"
    return VJP(lin.primal, backward, lin.num_outputs, lin.num_residuals)


def _scalar_output(graph: Graph, what: str) -> Value:
    check_scalar_output(what, graph.name, [(v.shape, v.dtype.is_float) for v in graph.outputs],
                        ", ".join(str(v.type) for v in graph.outputs))
    return graph.outputs[0]


def _fresh_inputs(graph: Graph) -> list[Value]:
    return [Value(v.type, v.name, "primal") for v in graph.inputs]


def _name_grads(grads: list[Value], inputs: list[Value], argnums: Sequence[int]) -> None:
    taken = {v.id for v in inputs}
    for g, a in zip(grads, argnums):
        if g.id not in taken and inputs[a].name:
            g.name = f"grad_{inputs[a].name}"


@traced("value_and_grad")
def value_and_grad(graph: Graph, argnums: int | Sequence[int] = 0) -> Graph:
    """Inputs as `graph`; outputs: the value, then one gradient per argnum."""
    return _with_gradients(graph, argnums, f"value_and_grad_{graph.name}", keep_value=True)


@traced("grad")
def grad(graph: Graph, argnums: int | Sequence[int] = 0) -> Graph:
    """Inputs as `graph`; outputs: one gradient per argnum."""
    return _with_gradients(graph, argnums, f"grad_{graph.name}", keep_value=False)


def _with_gradients(graph: Graph, argnums, name: str, keep_value: bool) -> Graph:
    """The vjp with a cotangent of 1, inlined into one graph and cleaned up once."""
    _scalar_output(graph, "grad")
    nums = differentiable_argnums(graph, argnums)
    v = vjp(graph, wrt_mask(len(graph.inputs), nums))
    b = Builder(origin="cotangent")
    inputs = _fresh_inputs(graph)
    value, *residuals = inline(b, v.primal, inputs)
    grads = in_given_order(inline(b, v.backward, residuals + [b.full(1.0, value.type)]), nums)
    _name_grads(grads, inputs, nums)
    return cleanup(b.graph(inputs, ([value] if keep_value else []) + grads, name))


# -- Jacobians by vmap ---------------------------------------------------------------------

def _basis(b: Builder, like: Value) -> Value:
    """The identity basis of `like`'s space: shape (N, *like.shape), N = like's size."""
    size = like.type.size()
    eye_shape = (size, size)
    rows = b.iota(shape=eye_shape, dimension=0, dtype=i32)
    cols = b.iota(shape=eye_shape, dimension=1, dtype=i32)
    eye = b.convert(b.compare(rows, cols, direction="eq"), dtype=like.dtype)
    return b.reshape(eye, shape=(size,) + tuple(like.shape))


def _fresh_dim(graph: Graph) -> str:
    used = set()
    for v in graph.inputs + [n.out for n in graph.nodes]:
        used |= v.type.dim_names()
    k, name = 1, "J"
    while name in used:
        k += 1
        name = f"J{k}"
    return name


def _batched_over_basis(b: Builder, g: Graph, args: list[Value], basis: Value) -> Value:
    """Run `g` once per basis vector (its last input), by vmap; returns (N, *out.shape)."""
    from .vmap import vmap

    batch = _fresh_dim(g)
    in_axes = (None,) * (len(g.inputs) - 1) + (0,)
    batched = vmap(g, in_axes, (0,), axis_name=batch)
    batched = substitute_dims(batched, {batch: basis.shape[0]})
    (out,) = inline(b, batched, args + [basis])
    return out


def _input_major_to_jacobian(b: Builder, stacked: Value, lead: tuple, trail: tuple) -> Value:
    """(N, *trail) with N = size(lead) -> (*trail, *lead): the Jacobian layout."""
    r = b.reshape(stacked, shape=tuple(lead) + tuple(trail))
    k, m = len(lead), len(trail)
    return b.transpose(r, permutation=tuple(range(k, k + m)) + tuple(range(k)))


def _single_output(graph: Graph, what: str) -> Value:
    if len(graph.outputs) != 1 or not graph.outputs[0].dtype.is_float:
        raise TransformError(f"{what}: {graph.name} must return one float tensor")
    return graph.outputs[0]


@traced("jacfwd")
def jacfwd(graph: Graph, argnums: int | Sequence[int] = 0) -> Graph:
    """Outputs: d out / d arg for each argnum, shaped out.shape + arg.shape."""
    out = _single_output(graph, "jacfwd")
    nums = differentiable_argnums(graph, argnums, "jacfwd")
    b = Builder(origin="tangent")
    inputs = _fresh_inputs(graph)
    jacs = []
    for a in nums:
        j = jvp(graph, wrt_mask(len(graph.inputs), (a,)))
        tangent_only = cleanup(Graph(j.inputs, j.nodes, j.outputs[1:], j.name))
        stacked = _batched_over_basis(b, tangent_only, inputs, _basis(b, inputs[a]))
        jacs.append(_input_major_to_jacobian(b, stacked, tuple(inputs[a].shape), tuple(out.shape)))
    return cleanup(b.graph(inputs, jacs, f"jacfwd_{graph.name}"))


@traced("jacrev")
def jacrev(graph: Graph, argnums: int | Sequence[int] = 0) -> Graph:
    """Outputs: d out / d arg for each argnum, shaped out.shape + arg.shape."""
    _single_output(graph, "jacrev")
    nums = differentiable_argnums(graph, argnums, "jacrev")
    b = Builder(origin="cotangent")
    inputs = _fresh_inputs(graph)
    v = vjp(graph, wrt_mask(len(graph.inputs), nums))
    value, *residuals = inline(b, v.primal, inputs)
    basis = _basis(b, value)
    jacs = []
    for a, ct in zip(nums, in_given_order(v.backward.outputs, nums)):
        one = cleanup(Graph(v.backward.inputs, v.backward.nodes, [ct], v.backward.name))
        stacked = _batched_over_basis(b, one, residuals, basis)
        # row k of the basis is output element k: (M, *arg.shape) is already output-major
        jacs.append(b.reshape(stacked, shape=tuple(value.shape) + tuple(inputs[a].shape)))
    return cleanup(b.graph(inputs, jacs, f"jacrev_{graph.name}"))


@traced("hessian")
def hessian(graph: Graph, argnums: int | Sequence[int] = 0) -> Graph:
    nums = differentiable_argnums(graph, argnums, "hessian")
    if len(nums) != 1:
        raise TransformError("hessian: give a single argnum")
    return jacfwd(jacrev(graph, nums), nums)


__all__ = [
    "VJP", "vjp", "grad", "value_and_grad", "jacfwd", "jacrev", "hessian", "jvp", "linearize",
    "differentiable_argnums",
]
