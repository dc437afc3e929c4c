"""The Python API, mirroring JAX: `load`, `loads`, `grad`, `value_and_grad`, `jvp`,
`linearize`, `vjp`, `jacfwd`, `jacrev`, `hessian`, `vmap`, `jit`.

Every transform returns a `Function` (so `grad(grad(f))` works and has `.ir` and
`.source`); `jvp`, `linearize` and `vjp` evaluate at the given primals, as JAX's do.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from ddc import dsl
from ddc.passes import autodiff
from ddc.passes.axes import axes_per_entry, check_axes
from ddc.passes.jvp import jvp as jvp_pass
from ddc.passes.linearize import dim_arguments, linearize as linearize_pass

from .function import BoundFunction, Function, graph_function


class Module:
    """A loaded `.dd` file: its functions are attributes (`m.loss(W, x, y)`)."""

    def __init__(self, program: dsl.Program):
        self.name = program.name
        self.path = program.path
        self.functions: dict[str, Function] = {
            name: Function(name, partial(program.lower, fdef), [p.name for p in fdef.params],
                           [p.type.dtype == "float" for p in fdef.params], fdef.span,
                           param_spans=[p.span for p in fdef.params])
            for name, fdef in program.functions.items()
        }
        self.definitions = program.functions

    def __getattr__(self, name: str) -> Function:
        functions = self.__dict__.get("functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"module {self.path or self.name} has no function {name!r}; "
                             f"it has: {', '.join(functions) or 'none'}")

    def __dir__(self):
        return list(super().__dir__()) + list(self.functions)

    def __repr__(self) -> str:
        return f"<ddc.Module {self.path}: {', '.join(self.functions)}>"


def load(path: str | Path) -> Module:
    return Module(dsl.load(path))


def loads(source: str, name: str = "<string>") -> Module:
    return Module(dsl.loads(source, name=name))


def _name(argnums) -> str:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    return "" if argnums == 0 else "_" + "_".join(str(a) for a in nums)


def grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """The gradient, or a tuple of gradients for a tuple of argnums (even of length one)."""
    structure = None if isinstance(argnums, int) else _as_tuple
    return f.derive(f"grad{_name(argnums)}_{f.name}",
                    lambda dt: autodiff.grad(f.graph_for(dt), argnums), structure=structure)


def value_and_grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """Returns (value, gradient), or (value, (gradients...)) for a tuple of argnums, as JAX."""
    structure = None if isinstance(argnums, int) else (lambda outs: (outs[0], tuple(outs[1:])))
    return f.derive(f"value_and_grad{_name(argnums)}_{f.name}",
                    lambda dt: autodiff.value_and_grad(f.graph_for(dt), argnums), structure=structure)


def jacfwd(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """One Jacobian, or a tuple of them (in argnums' order) for a tuple of argnums."""
    structure = None if isinstance(argnums, int) else _as_tuple
    return f.derive(f"jacfwd_{f.name}", lambda dt: autodiff.jacfwd(f.graph_for(dt), argnums),
                    structure=structure)


def jacrev(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """One Jacobian, or a tuple of them (in argnums' order) for a tuple of argnums."""
    structure = None if isinstance(argnums, int) else _as_tuple
    return f.derive(f"jacrev_{f.name}", lambda dt: autodiff.jacrev(f.graph_for(dt), argnums),
                    structure=structure)


def hessian(f: Function, argnums: int = 0) -> Function:
    return f.derive(f"hessian_{f.name}", lambda dt: autodiff.hessian(f.graph_for(dt), argnums))


def vmap(f: Function, in_axes=0, out_axes=0) -> Function:
    from ddc.passes.vmap import vmap as vmap_pass

    axes = axes_per_entry(in_axes, len(f.param_names), "in_axes", "arguments")
    check_axes(out_axes, "out_axes")

    def build(dt):
        return vmap_pass(f.graph_for(dt), axes, out_axes)

    return f.derive(f"vmap_{f.name}", build, dim_hint=(
        "vmap adds a batch dim (B, or B2, ... when B is taken) at each argument's in_axes; "
        "every mapped argument needs the same size there"))


def jit(f: Function, backend: str = "numpy") -> Function:
    """The same function, compiled for `backend` ("numpy" or "triton")."""
    return f.with_backend(backend)


def _unwrap(outs):
    return outs[0] if isinstance(outs, tuple) and len(outs) == 1 else outs


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def jvp(f: Function, primals: Sequence, tangents: Sequence):
    """(f(primals), J·tangents). Tangents are given for the float arguments, in order."""
    primals = tuple(primals)
    g = jvp_pass(f.graph_for(f.bind_dtype(primals)))
    outs = _as_tuple(graph_function(f"jvp_{f.name}", g, f.span, f.backend)(*primals, *tangents))
    n_tangents = len(g.outputs) - len(f.graph_for(f.bind_dtype(primals)).outputs)
    return _unwrap(outs[:-n_tangents or None]), _unwrap(outs[len(outs) - n_tangents:])


def _split(f: Function, primal_graph, num_outputs: int, primals):
    outs = _as_tuple(graph_function(f"primal_{f.name}", primal_graph, f.span, f.backend)(*primals))
    return _unwrap(outs[:num_outputs]), outs[num_outputs:]


def _closure(f: Function, name: str, graph, primal_graph, primals, residuals) -> BoundFunction:
    """`graph` with its dim parameters (the primal call's sizes) and residuals bound."""
    dims = dim_arguments(primal_graph, [np.shape(p) for p in primals], graph)
    return BoundFunction(graph_function(name, graph, f.span, f.backend), [*dims, *residuals])


def linearize(f: Function, *primals):
    """(f(primals), f_jvp) where f_jvp(*tangents) = J·tangents, reusing saved residuals."""
    lin = linearize_pass(f.graph_for(f.bind_dtype(primals)))
    value, residuals = _split(f, lin.primal, lin.num_outputs, primals)
    return value, _closure(f, f"jvp_{f.name}", lin.linear, lin.primal, primals, residuals)


def vjp(f: Function, *primals):
    """(f(primals), f_vjp) where f_vjp(*cotangents) gives one cotangent per float argument."""
    v = autodiff.vjp(f.graph_for(f.bind_dtype(primals)))
    value, residuals = _split(f, v.primal, v.num_outputs, primals)
    return value, _closure(f, f"vjp_{f.name}", v.backward, v.primal, primals, residuals)
