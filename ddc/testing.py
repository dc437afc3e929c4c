"""`check_grads`: derivatives checked numerically, like `jax.test_util.check_grads`.

- forward mode: the jvp graph against central finite differences, in float64;
- reverse mode: the vjp against the jvp by the identity <ct, J t> == <J^T ct, t>;
- higher order: the same checks applied to the jvp graph itself (order 2 checks the
  derivatives of the derivative).
Works on a graph or a `Function`, at f64: an f32 program is re-specialised at f64 first
(`passes.widen`), so its derivatives are checked with f64's precision.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ddc.ir import Graph, f64

EPS = 1e-6


def _run(graph: Graph, args):
    from ddc.codegen import compile_graph

    out = compile_graph(graph)(*args)
    return [np.asarray(o) for o in (out if isinstance(out, tuple) else (out,))]


def _graph(f) -> Graph:
    """`f`'s graph with every float in f64: an f32 program's own derivatives, checked in
    f64 (where finite differences are accurate), rather than f32 numbers loosely."""
    from ddc.passes.widen import widen

    return widen(f if isinstance(f, Graph) else f.graph_for(f64))


def _vdot(xs, ys) -> float:
    return float(sum(np.vdot(x, y) for x, y in zip(xs, ys)))


def _float_positions(values) -> list[int]:
    return [i for i, v in enumerate(values) if v.dtype.is_float]


def check_jvp(graph: Graph, args: Sequence, rng, eps: float = EPS, rtol: float = 1e-5, atol: float = 1e-6):
    from ddc.passes.jvp import jvp

    j = jvp(graph)
    floats = _float_positions(graph.inputs)
    tangents = [rng.standard_normal(np.shape(args[i])) for i in floats]
    outs = _run(j, list(args) + tangents)
    n_out = len(graph.outputs)
    primal, tangent_out = outs[:n_out], outs[n_out:]
    for k, (got, want) in enumerate(zip(primal, _run(graph, args))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                   err_msg=f"{graph.name}: jvp's primal output {k} differs from the function")

    def shifted(sign):
        moved = list(args)
        for i, t in zip(floats, tangents):
            moved[i] = args[i] + sign * eps * t
        return [o for o, v in zip(_run(graph, moved), graph.outputs) if v.dtype.is_float]

    numeric = [(p - m) / (2 * eps) for p, m in zip(shifted(1), shifted(-1))]
    for k, (got, want) in enumerate(zip(tangent_out, numeric)):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=f"{graph.name}: jvp of output {k} vs finite differences")
    return j, tangents


def check_vjp(graph: Graph, args: Sequence, rng, rtol: float = 1e-7, atol: float = 1e-9):
    """<ct, J t> (forward mode) == <J^T ct, t> (reverse mode)."""
    from ddc.passes.autodiff import vjp
    from ddc.passes.jvp import jvp
    from ddc.passes.linearize import dim_arguments

    floats = _float_positions(graph.inputs)
    tangents = [rng.standard_normal(np.shape(args[i])) for i in floats]
    n_out = len(graph.outputs)
    j_out = _run(jvp(graph), list(args) + tangents)[n_out:]
    cts = [rng.standard_normal(o.shape) for o in j_out]
    v = vjp(graph)
    residuals = _run(v.primal, args)[v.num_outputs:]
    dims = dim_arguments(v.primal, [np.shape(a) for a in args], v.backward)
    in_cts = _run(v.backward, dims + residuals + cts)
    lhs, rhs = _vdot(cts, j_out), _vdot(in_cts, tangents)
    np.testing.assert_allclose(rhs, lhs, rtol=rtol, atol=atol,
                               err_msg=f"{graph.name}: <J^T ct, t> != <ct, J t>")


def check_grads(f, args: Sequence, order: int = 2, seed: int = 0, eps: float = EPS,
                rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Check forward and reverse derivatives of `f` at `args` up to `order`."""
    rng = np.random.default_rng(seed)
    graph = _graph(f)
    args = [np.asarray(a, dtype=v.dtype.np) for a, v in zip(args, graph.inputs)]
    j, tangents = check_jvp(graph, args, rng, eps, rtol, atol)
    check_vjp(graph, args, rng)
    if order > 1:
        check_grads(j, list(args) + tangents, order - 1, seed + 1, eps, rtol * 10, atol * 10)
