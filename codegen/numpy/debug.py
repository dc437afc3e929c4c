"""The checking variant of the numpy backend, run under `ddc.config(debug_nans=True)`.

It writes the graph as one plain statement per IR node with the plain expressions of the lowering table (`rules`), but
none of its optimisations (rewrites, fusion, buffer reuse, implicit broadcasts), so every
node's value exists, unshared, right after the node runs, and is checked there:

    t_7 = np.log(t_6)  # f32[n]
    if not np.isfinite(t_7).all(): raise FloatingPointError(3, bool(np.isnan(t_7).any()))

A node whose inputs are all finite is checked with `isfinite`: a NaN or an inf in its
value is its own doing; unless it is one of the primitives that cannot make either from
finite values (`Primitive.finite_to_finite`: moves, picks, tanh, ...), which need no check. A node
with an input that may hold an inf (a constant -inf, or a value computed from one) is
checked with `isnan` only, as inf in, inf out is no news.
Arguments are assumed finite; when a check fires they are looked at, and a NaN or inf
among them is reported as such instead.

The raise carries the node's index, never user text; `CheckedFunction` turns it into a
`NumericsError` at the node's DSL span. The normal path is untouched: this source is a
different text, so `load` caches it separately.
"""
from __future__ import annotations

import numpy as np

from ddc.errors import NumericsError
from ddc.ir import dims as D
from ddc.ir.core import Graph, Node, Value
from ddc.ir.verify import verify

from ..common.arguments import start_function
from ..common.naming import label
from .backend import NumpyFunction, load
from .arguments import numpy_conversion
from .rules import Site, numpy_rules

# What usually makes a primitive produce a NaN or an inf, and what to do about it.
HINTS = {
    "log": "log is NaN below 0 and -inf at 0: clamp its argument, e.g. log(maximum(x, 1e-12))",
    "log1p": "log1p is NaN below -1 and -inf at -1: clamp its argument",
    "sqrt": "sqrt is NaN below 0 (and its derivative is inf at 0): clamp its argument, e.g. sqrt(maximum(x, 1e-12))",
    "div": "0/0 is NaN and x/0 is inf: keep the denominator away from 0",
    "pow": "a negative base to a fractional power is NaN, and 0 to a negative power is inf",
    "integer_pow": "x ** n overflows for large |x| (and n > 0), and 0 to a negative power is inf",
    "exp": "exp overflows above about 88 in f32 and 709 in f64: subtract the max first, as logsumexp does",
    "mul": "0 * inf is NaN: an earlier value overflowed",
    "add": "inf - inf is NaN: an earlier value overflowed",
    "sub": "inf - inf is NaN: an earlier value overflowed",
    "dot_general": "a product of large values overflowed",
    "reduce_sum": "a sum of large values overflowed",
}


def _finite_constant(node: Node) -> bool:
    """Whether the constant is finite in its dtype (1e300 is inf in f32)."""
    value = node.params["value"]
    if isinstance(value, D.Sym) or not isinstance(value, float):
        return True
    with np.errstate(over="ignore"):
        return bool(np.isfinite(node.out.dtype.np.type(value)))


def checked_source(graph: Graph) -> str:
    """The checking variant's source; its checks are numbered by index in `graph.nodes`."""
    return checked_code(graph)[0]


def checked_code(graph: Graph) -> tuple[str, list]:
    """`checked_source`, and the table of call-time index checks its code refers to."""
    verify(graph)
    start = start_function(graph, numpy_conversion)
    mint, fname, params, dims, body, names = (start.mint, start.name, start.params, start.dims,
                                              start.body, start.names)
    may_be_inf: set[int] = set()  # values that may hold an inf without any check failing
    computed = {id(n) for n in start.computed}
    for k, node in enumerate(graph.nodes):
        if id(node) in computed:
            body.append(start.check_index(node, names[node.index_input.id]))
        out = names[node.out.id] = mint(node.out.name)
        site = Site(tuple(v.type for v in node.inputs), node.out.type, dims)
        expr = numpy_rules[node.prim.name].expr(site, *(names[v.id] for v in node.inputs), **node.params)
        body.append(f"{out} = {expr}  # {node.out.type}")
        if not node.out.dtype.is_float:
            continue
        if node.prim.name == "constant":
            if not _finite_constant(node):
                may_be_inf.add(node.out.id)
            continue
        if any(v.id in may_be_inf for v in node.inputs):
            may_be_inf.add(node.out.id)
            body.append(f"if np.isnan({out}).any(): raise FloatingPointError({k}, True)")
        elif not node.prim.finite_to_finite:
            body.append(f"if not np.isfinite({out}).all(): raise FloatingPointError({k}, bool(np.isnan({out}).any()))")
    body.append("return " + (", ".join(f"np.array({names[v.id]})" for v in graph.outputs) or "()"))
    lines = [f"def {fname}({', '.join(params)}):"] + [f"    {line}" for line in body]
    return "\n".join(lines) + "\n", start.checks


class CheckedFunction(NumpyFunction):
    """A NumpyFunction of the checking variant: a failed check is a `NumericsError`."""

    def __call__(self, *args):
        try:
            with np.errstate(all="ignore"):  # what numpy would warn about, a check reports
                return super().__call__(*args)
        except FloatingPointError as e:
            if not (len(e.args) == 2 and isinstance(e.args[0], int)):
                raise  # numpy's own, under np.seterr(all="raise")
            raise self._error(args, self.graph.nodes[e.args[0]], e.args[1]) from None

    def _error(self, args, node: Node, nan: bool) -> NumericsError:
        for i, (v, a) in enumerate(zip(self.graph.inputs, args)):
            values = np.asarray(a)
            if values.dtype.kind == "f" and not np.isfinite(values).all():
                what = "a NaN" if np.isnan(values).any() else "an inf"
                return NumericsError(f"{_argument(v, i)} of {self.graph.name} contains {what}")
        what = "a NaN" if nan else "an inf"
        operands = ", ".join(str(v.type) for v in node.inputs)
        named = f" (computing {label(node.out.name, '')})" if label(node.out.name, "") else ""
        during = " in a derivative" if node.out.origin in ("tangent", "cotangent") else ""
        return NumericsError(
            f"{node.prim.name}({operands}) produced {what}{during}{named}: the first non-finite "
            f"value in {self.graph.name}", node.span, hint=HINTS.get(node.prim.name))


def _argument(v: Value, index: int) -> str:
    name = label(v.name, "")
    return f"argument '{name}'" if name else f"argument {index}"


def compile_checked(graph: Graph) -> CheckedFunction:
    source, checks = checked_code(graph)
    return CheckedFunction(graph, source, load(source), checks)
