"""What a call must satisfy for a graph to be valid, derived from the graph itself.

Two kinds of check, both made at call time, right after the dims are bound from the
arguments, by every backend (`codegen/common/arguments.py` writes them) and by the reference
evaluator:

- `DimRequirement`: a dim expression that must be >= 0. Every slice needs
  `0 <= start <= limit <= dim`, every symbolic pad amount is >= 0, and every dim of every
  value is >= 0 (`zeros(n - 5)`, `eye(n - 5)`, a reshape to `n - 5`). The checker types
  `x[-5]` on a dim `n` as the slice `[n-5, n-4)`, so `n >= 5` is what the call must meet.
- `IndexCheck`: the integer index of a gather or scatter_add must lie in `[0, bound)`
  (the team's index rule: no wraparound, no clamping). Where the index is a graph input
  (seen through reshapes, transposes and broadcasts, which keep its values) it is checked
  once, on the argument; an index counted by `iota` (`arange(n)` as labels) or a constant
  is a dim requirement instead. Any other index is computed inside the graph, and the
  backend checks it where it exists (`computed_indices`).

Requirements that are statically true are dropped (dims are never negative, so `n`,
`n + 1` and `2*n*d` need nothing); statically false ones are checker errors before a
graph exists. Checks are deduplicated by what they test, keeping the first span.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DDIndexError

from . import dims as D
from .core import Graph, Node, Value


@dataclass(frozen=True)
class DimRequirement:
    """`expr >= 0` must hold for the call's dims."""

    expr: D.Dim
    span: Any
    prim: str

    def holds(self, env: Mapping[str, int]) -> bool:
        return D.evaluate(self.expr, env) >= 0

    def message(self, env: Mapping[str, int]) -> str:
        """`x[-5] needs n >= 5, got n = 3`, in the dims' own names."""
        left = {m: c for m, c in _terms(self.expr).items() if c > 0 and m}
        right = {m: -c for m, c in _terms(self.expr).items() if c < 0 or not m}
        need = f"{_text(left)} >= {_text(right)}"
        got = ", ".join(f"{n} = {env[n]}" for n in sorted(D.names(self.expr)))
        return f"{what(self.span, self.prim)} needs {need}" + (f", got {got}" if got else "")


@dataclass(frozen=True)
class IndexCheck:
    """Every element of graph input `input` (a position in `graph.inputs`; None for an
    index computed in the graph, checked where it is used) must lie in `[0, bound)`: it
    indexes a dim of that size."""

    input: int | None
    bound: D.Dim
    span: Any
    prim: str
    index_name: str | None  # the index's name where it is used (`labels`), for messages
    param: str | None  # the input's name


def index_message(check_span, prim: str, index_name: str | None, param: str | None,
                  position: Sequence[int], value: int, bound: int) -> str:
    """`labels[3] = 7 is outside [0, 5) for parameter y`."""
    at = f"[{', '.join(map(str, position))}]" if position else ""
    name = index_name or param or "index"
    of = f" for parameter {param}" if param else ""
    return f"{name}{at} = {value} is outside [0, {bound}){of} in {what(check_span, prim)}"


def what(span, prim: str) -> str:
    """The source text of a span on one line (`x[-5]`), else the primitive's name."""
    if span is not None and span.end_line == span.line and span.end_col > span.col:
        text = span.line_text()[span.col - 1:span.end_col - 1].strip()
        if text and len(text) <= 60:
            return text
    return prim


def _terms(d: D.Dim) -> dict:
    return dict(d.terms) if isinstance(d, D.Sym) else {(): d}


def _text(terms: dict) -> str:
    if not terms:
        return "0"
    return D.render(D.Sym(terms), str)


def statically_true(d: D.Dim) -> bool:
    """`d >= 0` for every value of its names (all >= 0): no negative coefficient."""
    return all(c >= 0 for _, c in _terms(d).items())


# -- dim requirements, a rule per primitive ------------------------------------------------

def _slice(node: Node) -> list[D.Dim]:
    (t,) = node.inputs
    p = node.params
    out = []
    for d, lo, hi in zip(t.shape, p["start"], p["limit"]):
        out += [lo, hi - lo, d - hi]
    return out


def _pad(node: Node) -> list[D.Dim]:
    p = node.params
    return [a for a in (*p["low"], *p["high"]) if not isinstance(a, int)]


dim_rules: dict[str, Callable[[Node], list[D.Dim]]] = {
    "slice": _slice,
    "pad": _pad,
}


# -- index checks --------------------------------------------------------------------------

# Primitives whose output holds only values of their input (all of them, for reshape and
# transpose; a broadcast repeats them).
KEEPS_VALUES = ("reshape", "transpose", "broadcast_in_dim")

def index_root(v: Value, producers: Mapping[int, Node]) -> tuple[Value, Node | None]:
    """The value whose elements `v` holds, looking through KEEPS_VALUES, and its producer
    (None for a graph input)."""
    node = producers.get(v.id)
    while node is not None and node.prim.name in KEEPS_VALUES:
        v = node.inputs[0]
        node = producers.get(v.id)
    return v, node


def index_bound(node: Node) -> D.Dim:
    """The size of the dim an indexing node's index addresses: the gathered operand's, or
    the result's for a scatter."""
    shape = node.inputs[0].shape if node.prim.name == "gather" else node.out.shape
    return shape[node.params["axis"]]


def _iota_extent(root: Node) -> D.Dim:
    return root.params["shape"][root.params["dimension"]]


@dataclass
class Checks:
    """A graph's call-time checks: those made on dims and arguments, in one list (the
    generated code refers to them by position), and the indexing nodes whose index is
    computed inside the graph."""

    prologue: list[DimRequirement | IndexCheck]
    computed: list[Node]


def call_checks(graphs: Sequence[Graph]) -> Checks:
    """The checks of running `graphs[0]`. Later graphs are forms of it (a backend's
    rewritten graph): their index checks are added where new, as a rewrite may make a
    gather of its own (a one-hot pick), but not their dims, which an exact rewrite never
    makes stricter. Inputs are matched by position. The indexing nodes are those whose
    primitive has an `index_operand` (a backend's own too: numpy's fused add_scatter)."""
    prologue: list = []
    seen: set = set()
    computed: list[Node] = []

    def add(key, check):
        if key not in seen:
            seen.add(key)
            prologue.append(check)

    def require(expr, node):
        if not statically_true(expr):
            add(("dim", expr), DimRequirement(expr, node.span, node.prim.name))

    for graph in graphs:
        producers = graph.producers()
        positions = {v.id: i for i, v in enumerate(graph.inputs)}
        for node in graph.nodes:
            if graph is graphs[0]:
                for expr in (*node.out.shape, *dim_rules.get(node.prim.name, lambda n: [])(node)):
                    require(expr, node)
            if node.prim.index_operand is None:
                continue
            bound, idx = index_bound(node), node.index_input
            root, made_by = index_root(idx, producers)
            if made_by is None:
                add(("index", positions[root.id], bound),
                    IndexCheck(positions[root.id], bound, node.span, node.prim.name, idx.name, root.name))
            elif made_by.prim.name == "iota":
                require(bound - _iota_extent(made_by), node)
            elif made_by.prim.name == "constant":
                value = made_by.params["value"]
                require(value, node)
                require(bound - value - 1, node)
            elif graph is graphs[-1]:
                computed.append(node)
    return Checks(prologue, computed)


# -- failures ------------------------------------------------------------------------------

def index_error(check: DimRequirement | IndexCheck, detail) -> DDIndexError:
    """The located error of a failed check, given what failed: the values of the
    requirement's dims (in sorted name order), or (position, value, bound) of the first
    index outside its dim."""
    if isinstance(check, DimRequirement):
        env = dict(zip(sorted(D.names(check.expr)), detail))
        return DDIndexError(check.message(env), check.span)
    at, value, bound = detail
    return DDIndexError(index_message(check.span, check.prim, check.index_name, check.param,
                                      at, value, bound), check.span)


def first_outside(idx: np.ndarray, bound: int) -> tuple | None:
    """(position, value, bound) of the first element of `idx` outside [0, bound), or None."""
    bad = (idx < 0) | (idx >= bound)
    if not bad.any():
        return None
    at = tuple(int(i) for i in np.argwhere(bad)[0])
    return at, int(idx[at]), int(bound)


def check_call(checks: Sequence, dims: Mapping[str, int], arrays: Sequence[np.ndarray]) -> None:
    """Make the prologue's checks in Python, for an interpreter (`ir.reference`)."""
    for check in checks:
        if isinstance(check, DimRequirement):
            if not check.holds(dims):
                raise index_error(check, [dims[n] for n in sorted(D.names(check.expr))])
            continue
        failed = first_outside(arrays[check.input], D.evaluate(check.bound, dims))
        if failed is not None:
            raise index_error(check, failed)
