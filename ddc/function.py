"""`Function`: what users hold. A name, a way to build its graph for a float dtype, and
compiled code cached per (dtype, backend).

A `.dd` signature may use `float` (any float dtype): such a function is specialised at
call time to the dtype of its first float-generic array argument. Python numbers (numpy
scalars such as np.float64(0.1) included) and lists are weak, as in JAX: they never decide
the dtype, so `f(x_f64, 0.1)` runs at f64 with 0.1 exact, and a call given only numbers
runs at f32. `.graph`/`.ir`/`.source` show the f32 specialisation. Transforms
(`ddc.grad`, `ddc.vmap`, ...) return new Functions whose graph builder wraps the original
one, so they compose and stay lazy.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from .config import config
from .errors import CallError, DDError, DDIndexError, NumericsError, Span
from ddc.ir import DType, Graph, f32, f64

GraphBuilder = Callable[[DType], Graph]


class Function:
    def __init__(self, name: str, build: GraphBuilder, param_names: Sequence[str],
                 generic: Sequence[bool], span: Span | None = None, backend: str = "numpy",
                 structure: Callable[[Any], Any] | None = None, param_spans: Sequence[Span] | None = None,
                 dim_hint: str | None = None):
        self.name = name
        self._build = build
        self.param_names = tuple(param_names)
        self.generic = tuple(generic)  # which params have the `float` dtype variable
        self.span = span
        self.param_spans = tuple(param_spans) if param_spans else None  # where call errors point
        self.backend = backend
        # regroups the graph's flat outputs as the caller expects, e.g. (value, (g0, g1))
        self.structure = structure
        self.dim_hint = dim_hint  # said with an argument's dim mismatch (dims a transform adds)
        self._graphs: dict[DType, Graph] = {}
        self._compiled: dict[tuple[DType, str, bool], Any] = {}

    # -- graphs ----------------------------------------------------------------------------
    def graph_for(self, dtype: DType = f32) -> Graph:
        if dtype not in self._graphs:
            try:
                self._graphs[dtype] = self._build(dtype)
            except DDError as e:
                if e.span is None:
                    e.span = self.span
                raise
        return self._graphs[dtype]

    @property
    def graph(self) -> Graph:
        return self.graph_for(f32)

    @property
    def ir(self) -> str:
        return str(self.graph)

    @property
    def source(self) -> str:
        return self.compiled(f32).source

    def derive(self, name: str, build: GraphBuilder, **changes) -> Function:
        """A new Function whose graph is `build(dtype)`, same params unless changed."""
        same_params = "param_names" not in changes
        return Function(name, build, changes.get("param_names", self.param_names),
                        changes.get("generic", self.generic), self.span,
                        changes.get("backend", self.backend), changes.get("structure"),
                        self.param_spans if same_params else None, changes.get("dim_hint"))

    def with_backend(self, backend: str) -> Function:
        return Function(self.name, self.graph_for, self.param_names, self.generic, self.span,
                        backend, self.structure, self.param_spans, self.dim_hint)

    # -- running ---------------------------------------------------------------------------
    def compiled(self, dtype: DType = f32, backend: str | None = None):
        """The code that runs: per dtype, backend, and `ddc.config.debug_nans` (whose
        checking variant is a separate compilation, so the normal code stays as it is)."""
        backend = backend or self.backend
        key = (dtype, backend, config.debug_nans)
        if key not in self._compiled:
            self._compiled[key] = _compile(self.graph_for(dtype), backend, config.debug_nans)
        return self._compiled[key]

    def bind_dtype(self, args: Sequence[Any]) -> DType:
        for a, gen in zip(args, self.generic):
            if gen and hasattr(a, "dtype") and not isinstance(a, np.generic):  # numbers are weak
                kind = str(a.dtype)
                if kind in ("float64", "torch.float64"):
                    return f64
                if kind in ("float32", "torch.float32"):
                    return f32
        return f32

    def arrange(self, args: tuple, kwargs: dict) -> tuple:
        """Positional and keyword arguments, in parameter order."""
        if not kwargs:
            if len(args) != len(self.param_names):
                raise CallError(
                    f"{self.name} takes {len(self.param_names)} arguments "
                    f"({', '.join(self.param_names)}), got {len(args)}", self.span)
            return args
        values = dict(zip(self.param_names, args))
        for k, v in kwargs.items():
            if k not in self.param_names:
                raise CallError(f"{self.name} has no parameter {k!r}; parameters: "
                                f"{', '.join(self.param_names)}", self.span)
            if k in values:
                raise CallError(f"{self.name}: argument {k!r} given twice", self.span)
            values[k] = v
        missing = [p for p in self.param_names if p not in values]
        if missing:
            raise CallError(f"{self.name}: missing arguments {', '.join(missing)}", self.span)
        return tuple(values[p] for p in self.param_names)

    def __call__(self, *args, **kwargs):
        args = self.arrange(args, kwargs)
        code = self.compiled(self.bind_dtype(args))
        from ddc.codegen.common.runtime import ArgumentError

        try:
            out = code(*args)
        except ArgumentError as e:
            hint = self.dim_hint if e.dim is not None else None
            raise CallError(f"{self.name}: {e}", self._blamed(e.parameter), hint=hint) from None
        except (NumericsError, DDIndexError) as e:
            e.span = e.span or self.span
            raise
        return self.structure(out) if self.structure else out

    def _blamed(self, parameter: str | None) -> Span | None:
        """The span of the parameter an argument error is about (its `parameter` field,
        the runtime's `parameter x` or `argument 2`), else the function's."""
        if parameter is None or self.param_spans is None:
            return self.span
        from ddc.codegen.common.arguments import describe

        named = [describe(v, i) for i, v in enumerate(self.graph.inputs)]
        index = named.index(parameter) if parameter in named else -1
        return self.param_spans[index] if 0 <= index < len(self.param_spans) else self.span

    # -- pictures --------------------------------------------------------------------------
    def to_dot(self, **options):
        from .viz import to_dot

        return to_dot(self.graph, **options)

    def _repr_svg_(self):
        from .viz import render_svg

        return render_svg(self.graph)

    def __repr__(self) -> str:
        return f"<ddc.Function {self.name}({', '.join(self.param_names)})>"


def _compile(graph: Graph, backend: str, debug_nans: bool):
    if not debug_nans:
        from ddc.codegen import compile_graph

        return compile_graph(graph, backend)
    if backend != "numpy":
        raise ValueError(f"debug_nans checks code of the numpy backend; this function uses {backend!r}")
    from ddc.codegen.numpy.debug import compile_checked

    return compile_checked(graph)


def graph_function(name: str, graph: Graph, span: Span | None = None, backend: str = "numpy") -> Function:
    """A Function for one fixed graph (no float-generic parameters)."""
    names = [*graph.dim_params(), *(v.name or f"arg{i}" for i, v in enumerate(graph.inputs))]
    return Function(name, lambda _: graph, names, [False] * len(names), span, backend)


class BoundFunction:
    """A function with its leading arguments fixed (the residuals of `linearize`/`vjp`)."""

    def __init__(self, fn: Function, bound: Sequence[Any]):
        self.fn = fn
        self.bound = tuple(bound)
        self.name = fn.name

    @property
    def graph(self) -> Graph:
        return self.fn.graph

    @property
    def ir(self) -> str:
        return self.fn.ir

    @property
    def source(self) -> str:
        return self.fn.source

    def __call__(self, *args):
        return self.fn(*self.bound, *args)
