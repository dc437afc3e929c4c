"""Function references and the transform expressions that make new ones.

`f` (a function defined with `def`, local or imported) is a `FunctionRef`.
`grad(f, argnums=0)`, `value_and_grad(f, argnums=0)` and `vmap(f, in_axes=0, out_axes=0)`
are references too, called in place (`grad(loss)(W, x)`), and they nest
(`vmap(grad(loss), in_axes=(None, 0))`). Each transform has here, side by side, its type
rule (used by the checker, which runs no pass) and its lowering: lower the inner reference
to a graph at the argument types, then run the pass (`ddc.passes.autodiff`,
`ddc.passes.vmap`) on it. The caller inlines the result.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ddc.errors import TransformError
from ddc.ir import Graph, dims as D, substitute_dims
from ddc.ir.types import TensorType
from ddc.passes.argnums import check_argnums, check_scalar_output, normalize_argnums
from ddc.passes.axes import check_axes, in_batch_axes, out_batch_axes

from .program import FunctionDef
from .types import Tensor, flatten, is_float, unflatten

LowerGraph = Callable[["Ref", list[TensorType], object], Graph]


@dataclass(frozen=True, eq=False)
class FunctionRef:
    fn: FunctionDef

    @property
    def arity(self) -> int:
        return len(self.fn.params)

    def __str__(self) -> str:
        return self.fn.name


# -- grad and value_and_grad -----------------------------------------------------------------

@dataclass(frozen=True)
class Grad:
    inner: Ref
    argnums: int | tuple[int, ...]
    with_value: bool

    @property
    def arity(self) -> int:
        return self.inner.arity

    @property
    def name(self) -> str:
        return "value_and_grad" if self.with_value else "grad"

    def __str__(self) -> str:
        return f"{self.name}({self.inner})"

    def check(self, checker, args: list[Tensor], spans, span):
        out, effective = checker.call_ref(self.inner, args, spans, span)
        argnums = normalize_argnums(self.argnums, len(args), str(self.inner))
        results = [(out.shape, is_float(out.dtype))] if isinstance(out, Tensor) else [None] * len(out)
        check_scalar_output(self.name, str(self.inner), results, checker.show(out), span)
        grads = []
        for i in argnums:
            if not is_float(effective[i].dtype):
                named = f" '{self.inner.fn.params[i].name}'" if isinstance(self.inner, FunctionRef) else ""
                raise TransformError(
                    f"{self.name} with respect to argument {i}{named} of {self.inner}, which is "
                    f"{effective[i]}: only float arguments have gradients", spans[i],
                    hint="choose argnums among the float arguments",
                )
            grads.append(effective[i])
        result = tuple(grads) if isinstance(self.argnums, tuple) else grads[0]
        return ((out, result) if self.with_value else result), effective

    def lower(self, arg_types: list[TensorType], float_dtype, lower_graph: LowerGraph) -> Graph:
        from ddc.passes import autodiff

        graph = lower_graph(self.inner, arg_types, float_dtype)
        argnums = normalize_argnums(self.argnums, len(arg_types), str(self.inner))
        return (autodiff.value_and_grad if self.with_value else autodiff.grad)(graph, argnums)


# -- vmap ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VMap:
    inner: Ref
    in_axes: object  # int | None | tuple of those
    out_axes: object

    @property
    def arity(self) -> int:
        return self.inner.arity

    def __str__(self) -> str:
        return f"vmap({self.inner})"

    def _in_axes(self, shapes: list[tuple], spans=None) -> list[int | None]:
        return in_batch_axes(self.in_axes, [len(s) for s in shapes], spans=spans)

    def _out_axes(self, shapes: list[tuple]) -> list[int | None]:
        return out_batch_axes(self.out_axes, [len(s) for s in shapes])

    def check(self, checker, args: list[Tensor], spans, span):
        if len(args) != self.arity:
            raise TransformError(f"{self} takes {self.arity} arguments, got {len(args)}", span)
        in_axes = self._in_axes([a.shape for a in args], spans)
        mapped = [(i, ax) for i, ax in enumerate(in_axes) if ax is not None]
        first, first_axis = mapped[0]
        size = args[first].shape[first_axis]
        for i, ax in mapped:
            if args[i].shape[ax] != size:
                raise TransformError(
                    f"vmap: argument {i} has size {args[i].shape[ax]} on its mapped axis, "
                    f"but argument {first} has size {size}", spans[i],
                )
        inner_args = [a if ax is None else replace(a, shape=a.shape[:ax] + a.shape[ax + 1:])
                      for a, ax in zip(args, in_axes)]
        out, inner_effective = checker.call_ref(self.inner, inner_args, spans, span)
        leaves = flatten(out)
        out_axes = self._out_axes([t.shape for t in leaves])
        batched = [t if ax is None else Tensor(t.dtype, t.shape[:ax] + (size,) + t.shape[ax:])
                   for t, ax in zip(leaves, out_axes)]
        effective = [e if ax is None else Tensor(e.dtype, a.shape) for a, e, ax in zip(args, inner_effective, in_axes)]
        return unflatten(batched, out), effective

    def lower(self, arg_types: list[TensorType], float_dtype, lower_graph: LowerGraph) -> Graph:
        from ddc.passes.vmap import vmap

        in_axes = self._in_axes([t.shape for t in arg_types])
        inner_types = [t if ax is None else t.with_shape(t.shape[:ax] + t.shape[ax + 1:])
                       for t, ax in zip(arg_types, in_axes)]
        graph = lower_graph(self.inner, inner_types, float_dtype)
        out_axes = self._out_axes([v.shape for v in graph.outputs])
        batched = vmap(graph, tuple(in_axes), tuple(out_axes))
        # the pass names a fresh batch dim; the caller's arguments say what it is here
        first, first_axis = next((i, ax) for i, ax in enumerate(in_axes) if ax is not None)
        fresh = batched.inputs[first].shape[first_axis]
        size = arg_types[first].shape[first_axis]
        if fresh == size or not isinstance(fresh, D.Sym):
            return batched
        return substitute_dims(batched, {name: size for name in fresh.names()})


Ref = FunctionRef | Grad | VMap
REFS = (FunctionRef, Grad, VMap)


# -- the transform expressions: signatures and constructors -----------------------------------

@dataclass(frozen=True)
class Transform:
    params: tuple[str, ...]
    defaults: dict
    make: Callable  # (inner ref, static options) -> ref


TRANSFORMS: dict[str, Transform] = {
    "grad": Transform(("fun", "argnums"), {"argnums": 0},
                      lambda f, o: Grad(f, check_argnums(o["argnums"]), with_value=False)),
    "value_and_grad": Transform(("fun", "argnums"), {"argnums": 0},
                                lambda f, o: Grad(f, check_argnums(o["argnums"]), with_value=True)),
    "vmap": Transform(("fun", "in_axes", "out_axes"), {"in_axes": 0, "out_axes": 0},
                      lambda f, o: VMap(f, check_axes(o["in_axes"], "in_axes"), check_axes(o["out_axes"], "out_axes"))),
}
