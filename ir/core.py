"""The graph IR: SSA values, nodes applying primitives, graphs, and the builder.

A `Graph` is like a jaxpr: typed input values, nodes in topological order, output values.
Every node has exactly one output value (every primitive of the set returns one tensor),
which keeps the passes simple. Values are compared by identity; `Value.name` is only a
hint (a DSL variable name) for printing and codegen.

Primitives are registered in `PRIMITIVES` by `ir.primitives`; each carries a type rule, so
`Builder.bind` computes every output type and a malformed node fails where it is built.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import IRError
from .dims import Sym
from .types import TensorType

_ids = itertools.count()


class Value:
    """One SSA value. `origin` says which transform made it (for pictures): None, 'primal',
    'tangent', 'cotangent' or 'residual'."""

    __slots__ = ("type", "name", "id", "origin")

    def __init__(self, type: TensorType, name: str | None = None, origin: str | None = None):
        self.type = type
        self.name = name
        self.origin = origin
        self.id = next(_ids)

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def shape(self):
        return self.type.shape

    @property
    def ndim(self) -> int:
        return self.type.ndim

    def __repr__(self) -> str:
        return f"Value({self.name or self.id}:{self.type})"


@dataclass(frozen=True)
class Primitive:
    """A primitive operation.

    `type_rule(in_types, **params) -> TensorType` checks its inputs and gives the output type
    (raising `IRError` on misuse). `params` lists the static parameter names in print order.
    The traits are what passes and backends ask of a primitive, here once:

    - `linear`: linear in its inputs (or in all but its non-differentiable ones), which is
      what the transpose table must cover;
    - `elementwise`: output element i depends on input elements i alone;
    - `commutative`: a binary op whose operands may be swapped (cse merges `x+y`, `y+x`);
    - `view`: its value can be a view of its first input's memory (no new buffer);
    - `broadcast`: makes a value from less memory than its size (numpy returns a
      broadcast view: never written in place, copied when returned);
    - `reduction`: combines elements along axes (a Triton kernel's anchor);
    - `finite_to_finite`: finite inputs always give a finite output (no NaN/inf check
      needed after it in the checking variant);
    - `cheap`: map-like and cheap enough to recompute in each kernel that reads it;
    - `index_operand`: for a primitive that indexes, which operand is the index (checked
      at call time, `ir.requirements`).
    """

    name: str
    type_rule: Callable[..., TensorType]
    params: tuple[str, ...] = ()
    arity: int | None = 1  # None: variadic
    linear: bool = False
    elementwise: bool = False
    commutative: bool = False
    view: bool = False
    broadcast: bool = False
    reduction: bool = False
    finite_to_finite: bool = False
    cheap: bool = False
    index_operand: int | None = None

    def __repr__(self) -> str:
        return self.name


PRIMITIVES: dict[str, Primitive] = {}


def register(prim: Primitive) -> Primitive:
    assert prim.name not in PRIMITIVES, prim.name
    PRIMITIVES[prim.name] = prim
    return prim


@dataclass(eq=False)
class Node:
    prim: Primitive
    inputs: list[Value]
    params: dict[str, Any]
    out: Value
    span: Any = None  # the DSL source span this node came from, when there is one

    def key(self) -> tuple:
        """What makes two nodes compute the same thing (for CSE)."""
        return (self.prim.name, tuple(v.id for v in self.inputs), self.params_key)

    @functools.cached_property
    def params_key(self) -> tuple:
        """The params, hashable. Nodes are never mutated, so it is computed once per node
        (and carried by `with_inputs`): the cleanups ask for it every round."""
        return _freeze(self.params)

    @property
    def index_input(self) -> Value:
        """The operand holding the index, for a node whose primitive indexes."""
        assert self.prim.index_operand is not None, f"{self.prim.name} does not index"
        return self.inputs[self.prim.index_operand]

    def with_inputs(self, inputs: list[Value]) -> Node:
        """This node reading `inputs` instead: itself when they are the same values."""
        if all(a is b for a, b in zip(inputs, self.inputs)):
            return self
        fresh = Node(self.prim, inputs, self.params, self.out, self.span)
        if "params_key" in self.__dict__:
            fresh.params_key = self.params_key
        return fresh

    def __repr__(self) -> str:
        return f"Node({self.prim.name}, {self.inputs} -> {self.out})"


def _freeze(x):
    if type(x) is tuple and all(type(v) is int for v in x):
        return x  # the common case (axes, dimensions), without a generator per item
    if isinstance(x, dict):
        return tuple((k, _freeze(v)) for k, v in sorted(x.items()))
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, float):
        return ("float", repr(x))  # so nan == nan and -0.0 != 0.0 for CSE purposes
    return x


@dataclass(eq=False)
class Graph:
    inputs: list[Value]
    nodes: list[Node]
    outputs: list[Value]
    name: str = "f"

    def __str__(self) -> str:
        from .printer import print_graph

        return print_graph(self)

    def dim_params(self) -> tuple[str, ...]:
        """The graph's dim parameters, in the order its caller passes them (sorted):
        the dim names it uses that no input axis is exactly. A standalone backward graph
        of `sum(x)` has none of `x`'s axes among its inputs, so its caller passes them.

        Derived, not stored: every pass rebuilds graphs, and a derived signature cannot be
        dropped or go stale on the way."""
        bound = {d.terms[0][0][0] for v in self.inputs for d in v.shape if _is_plain_name(d)}
        used: set[str] = set()
        for v in self.inputs + [n.out for n in self.nodes] + self.outputs:
            used |= v.type.dim_names()
        for n in self.nodes:
            for p in n.params.values():
                used |= _param_dim_names(p)
        return tuple(sorted(used - bound))

    def dim_sizes(self, shapes: Sequence[Sequence[int]]) -> dict[str, int]:
        """The size of each dim name an input axis is exactly, for arguments of `shapes`
        (already checked against the inputs, as a call of this graph checks them)."""
        return {d.terms[0][0][0]: size for v, shape in zip(self.inputs, shapes, strict=True)
                for d, size in zip(v.shape, shape) if _is_plain_name(d)}

    def live_nodes(self) -> list[Node]:
        """The nodes the outputs depend on, in order (what dead-code elimination keeps)."""
        needed = {v.id for v in self.outputs}
        live = []
        for node in reversed(self.nodes):
            if node.out.id in needed:
                live.append(node)
                needed.update(v.id for v in node.inputs)
        return live[::-1]

    def producers(self) -> dict[int, Node]:
        return {n.out.id: n for n in self.nodes}

    def users(self) -> dict[int, list[Node]]:
        out: dict[int, list[Node]] = {}
        for n in self.nodes:
            for v in n.inputs:
                out.setdefault(v.id, []).append(n)
        return out

    def to_networkx(self):
        """A DiGraph over node indices plus 'in:i' / 'out:i' terminals, for analyses."""
        import networkx as nx

        g = nx.DiGraph()
        where: dict[int, Any] = {}
        for i, v in enumerate(self.inputs):
            g.add_node(f"in:{i}", kind="input", value=v)
            where[v.id] = f"in:{i}"
        for i, n in enumerate(self.nodes):
            g.add_node(i, kind="node", node=n)
            for v in n.inputs:
                g.add_edge(where[v.id], i, value=v)
            where[n.out.id] = i
        for i, v in enumerate(self.outputs):
            g.add_node(f"out:{i}", kind="output", value=v)
            g.add_edge(where[v.id], f"out:{i}", value=v)
        return g

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.prim.name] = counts.get(n.prim.name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _is_plain_name(d) -> bool:
    """The dim is one name (`n`, not `n-1`, `2*n` or `n*d`): an axis of that size binds it."""
    return isinstance(d, Sym) and len(d.terms) == 1 and d.terms[0][1] == 1 and len(d.terms[0][0]) == 1


def _param_dim_names(p) -> set[str]:
    if isinstance(p, Sym):
        return p.names()
    if isinstance(p, (tuple, list)):
        return {name for x in p for name in _param_dim_names(x)}
    return set()


class Builder:
    """Appends nodes, computing each output type with the primitive's type rule.

    `b.bind("add", x, y)` or, shorter, `b.add(x, y)`. A `span` set on the builder is
    stamped on every node it makes, so later errors point at the source.
    """

    def __init__(self, span: Any = None, origin: str | None = None):
        self.nodes: list[Node] = []
        self.span = span
        self.origin = origin

    def bind(self, prim: Primitive | str, *inputs: Value, name: str | None = None, **params) -> Value:
        if isinstance(prim, str):
            prim = PRIMITIVES[prim]
        if prim.arity is not None and len(inputs) != prim.arity:
            raise IRError(f"{prim.name} takes {prim.arity} inputs, got {len(inputs)}", self.span)
        missing = [p for p in prim.params if p not in params]
        extra = [p for p in params if p not in prim.params]
        if missing or extra:
            raise IRError(f"{prim.name}: missing params {missing}, unexpected {extra}", self.span)
        params = {p: params[p] for p in prim.params}
        out_type = prim.type_rule([v.type for v in inputs], **params)
        out = Value(out_type, name=name, origin=self.origin)
        self.nodes.append(Node(prim, list(inputs), params, out, self.span))
        return out

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in PRIMITIVES:
            raise AttributeError(name)
        prim = PRIMITIVES[name]
        return lambda *inputs, **params: self.bind(prim, *inputs, **params)

    def scalar(self, value, dtype) -> Value:
        """A scalar constant, its Python value coerced to the dtype's kind."""
        if dtype.is_bool:
            value = bool(value)
        elif dtype.is_float and not hasattr(value, "terms"):
            value = float(value)
        elif dtype.is_int and not hasattr(value, "terms"):
            value = int(value)
        return self.bind("constant", value=value, dtype=dtype)

    def full(self, value, type: TensorType) -> Value:
        """A tensor of one value: a scalar constant broadcast to `type`'s shape."""
        c = self.scalar(value, type.dtype)
        if not type.shape:
            return c
        return self.bind("broadcast_in_dim", c, shape=tuple(type.shape), broadcast_dimensions=())

    def zeros(self, type: TensorType) -> Value:
        return self.full(0, type)

    def graph(self, inputs: Sequence[Value], outputs: Sequence[Value], name: str = "f") -> Graph:
        return Graph(list(inputs), list(self.nodes), list(outputs), name)


def inline(b: Builder, graph: Graph, args: Iterable[Value]) -> list[Value]:
    """Copy `graph`'s nodes into `b` with its inputs replaced by `args`; return its outputs.

    Fresh output values are made, so the same graph can be inlined many times.
    """
    env: dict[int, Value] = {}
    for p, a in zip(graph.inputs, args, strict=True):
        env[p.id] = a
    for n in graph.nodes:
        out = Value(n.out.type, n.out.name, n.out.origin)
        b.nodes.append(Node(n.prim, [env[v.id] for v in n.inputs], dict(n.params), out, n.span))
        env[n.out.id] = out
    return [env[v.id] for v in graph.outputs]


def clone(graph: Graph) -> Graph:
    """A copy with fresh values, so a pass can rewrite it without touching the original."""
    b = Builder()
    inputs = [Value(v.type, v.name, v.origin) for v in graph.inputs]
    outputs = inline(b, graph, inputs)
    return b.graph(inputs, outputs, graph.name)


Image = TypeVar("Image")


@dataclass
class ValueMap(Generic[Image]):
    """Values of one graph mapped to values of another (or to what a pass keeps for them,
    as vmap's value and batch dim), by id."""

    table: dict[int, Image] = field(default_factory=dict)

    def __getitem__(self, v: Value) -> Image:
        return self.table[v.id]

    def __setitem__(self, v: Value, w: Image) -> None:
        self.table[v.id] = w

    def __contains__(self, v: Value) -> bool:
        return v.id in self.table

    def get(self, v: Value, default=None):
        return self.table.get(v.id, default)
