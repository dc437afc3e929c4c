"""Fusion: the partition of a graph into the kernels the Triton backend emits.

`partition(graph) -> Fusion` is a pure analysis: the graph is not changed. Each `Group` becomes
one `@triton.jit` kernel:

- elementwise (or "gather" when it holds one): a chain of elementwise ops with the
  broadcasts, converts, constants, transposes, slices, pads, concatenations and gathers
  around them, computed over one index space;
- reduction: reductions over the same axes of same-shaped operands, their elementwise
  producers, and the consumers that read their results back at the rows the kernel owns
  (softmax, logsumexp and cross-entropy rows are one kernel: a loop per reduction, then
  the outputs);
- matmul: a `dot_general` as a tiled `tl.dot` with its operands' producers and its
  elementwise epilogue (bias, activation, scaling);
- scatter: a `scatter_add` whose indices may repeat (atomic adds) with its producers.

Index maps. A kernel iterates over an index space; every value it computes is evaluated
*at a map*: one index expression (`Ix`) per axis of the value, over the space's iteration
variables. A map-like primitive (everything but the reductions, `dot_general`, and a
`scatter_add` whose rows can collide) reads its inputs at maps derived from its own, by
`index_rules`; so any chain of them fuses by index arithmetic, and a broadcast, transpose
or slice costs nothing. Values a kernel holds in registers (a reduction's rows, a product
tile) exist only at the map where the kernel makes them: a consumer may join a group only
if every register it reaches is read at that map. The Triton backend evaluates values by
the same rules, so what this pass accepts is what the backend can emit.

Constants, iotas and what is computed from them alone, scalars, and cheap map-like ops
applied to graph inputs alone (a transposed weight, `x - y`) are recomputed in every
kernel that uses them instead of being written and read back (`Fusion.recomputed`); they
are listed in each such group's `nodes`, and `group_of` gives the first. Groups never form a cycle: each
contraction is checked on the quotient graph with networkx.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import networkx as nx

from ddc.ir.core import Graph, Node, Value
from ddc.ir.printer import Namer

from .index_maps import ZERO, Map, collides, identity, index_rules, rename, squeezed_pairs


def is_anchor(node: Node) -> bool:
    """Nodes that set a kernel's shape instead of being read at any map."""
    name = node.prim.name
    return node.prim.reduction or name == "dot_general" or (name == "scatter_add" and collides(node))


# -- index spaces --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Space:
    """What a kernel iterates over.

    elementwise: `shape`, variables s0, s1, ... per axis (also a scatter's updates);
    reduction: `shape` is the operand's, `axes` the reduced ones; kept axes are rows
    (o0, o1, ...), reduced axes are walked in a loop (i0, i1, ...);
    matmul: `shape` is the product's, batch dims b*, lhs-free m*, rhs-free n*, and the
    contraction k* inside the loop.
    """

    kind: str
    shape: tuple
    axes: tuple = ()
    dot: Node | None = None

    @property
    def kept(self) -> list[int]:
        return [a for a in range(len(self.shape)) if a not in self.axes]

    def rows(self) -> tuple:
        """A reduction's result shape."""
        return tuple(self.shape[a] for a in self.kept)

    def row_map(self) -> Map:
        return identity(self.rows(), [f"o{j}" for j in range(len(self.kept))])

    def operand_map(self) -> Map:
        """A reduction's operand, element by element."""
        kept = self.kept
        names = [f"o{kept.index(a)}" if a in kept else f"i{self.axes.index(a)}"
                 for a in range(len(self.shape))]
        return identity(self.shape, names)

    @property
    def product(self) -> Node:
        """A matmul space's `dot_general`."""
        assert self.dot is not None, f"a {self.kind} space has no product"
        return self.dot

    def product_names(self) -> list[str]:
        dot = self.product
        (lc, rc), (lb, rb) = dot.params["contract"], dot.params["batch"]
        n_lfree = dot.inputs[0].ndim - len(lc) - len(lb)
        n_rfree = dot.inputs[1].ndim - len(rc) - len(rb)
        return ([f"b{j}" for j in range(len(lb))] + [f"m{j}" for j in range(n_lfree)]
                + [f"n{j}" for j in range(n_rfree)])

    def operand_maps(self) -> tuple[Map, Map]:
        """Where a product reads its two operands, over b*, m*, n* and k*."""
        dot = self.product
        (lc, rc), (lb, rb) = dot.params["contract"], dot.params["batch"]
        lhs, rhs = dot.inputs
        maps = []
        for x, c, b, free in ((lhs, lc, lb, "m"), (rhs, rc, rb, "n")):
            names, j = [], 0
            for a in range(x.ndim):
                if a in c:
                    names.append(f"k{c.index(a)}")
                elif a in b:
                    names.append(f"b{b.index(a)}")
                else:
                    names.append(f"{free}{j}")
                    j += 1
            maps.append(identity(x.shape, names))
        return maps[0], maps[1]

    def spans(self) -> list[tuple[tuple, Map]]:
        """The shapes the kernel computes element by element, with their maps."""
        if self.kind == "elementwise":
            return [(tuple(self.shape), identity(self.shape, [f"s{k}" for k in range(len(self.shape))]))]
        if self.kind == "reduction":
            return [(self.rows(), self.row_map()), (tuple(self.shape), self.operand_map())]
        if self.kind == "matmul":
            return [(tuple(self.shape), identity(self.shape, self.product_names()))]
        return []


# -- groups --------------------------------------------------------------------------------

@dataclass(eq=False)
class Group:
    """One kernel. `nodes` in graph order; `inputs` are read from memory, `outputs` are
    written to it (used outside the group, or returned by the graph).

    For the backend: `space` is what the kernel iterates over, `anchors` the nodes that
    set it (the reductions in order, the dot_general, or the scatter_add), `placements`
    the map at which each output (and every value it may write) is computed."""

    id: int
    kind: str
    nodes: list[Node]
    inputs: list[Value]
    outputs: list[Value]
    space: Space
    anchors: list[Node] = field(default_factory=list)
    placements: dict[int, Map] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.kind}: {', '.join(n.prim.name for n in self.nodes)}>"


@dataclass
class Fusion:
    graph: Graph
    groups: list[Group]
    recomputed: set[int] = field(default_factory=set)  # ids of values each reader recomputes

    def group_of(self, node: Node) -> Group | None:
        """The kernel that computes `node` (the first, for a recomputed node); None for a
        node no output depends on."""
        for g in self.groups:
            if any(n is node for n in g.nodes):
                return g
        return None

    def describe(self) -> str:
        name = Namer()
        for v in self.graph.inputs + [n.out for n in self.graph.nodes]:
            name(v)  # the numbering of the text IR, so both can be read side by side

        def values(vs):
            return ", ".join(f"%{name(v)}:{v.type}" for v in vs) or "-"

        lines = [f"# {len(self.groups)} kernel{'s' if len(self.groups) != 1 else ''}"]
        for g in self.groups:
            lines.append(f"kernel {g.id}: {g.kind} {_space_text(g.space)}")
            lines.append("  ops: " + " ".join(n.prim.name for n in g.nodes))
            lines.append(f"  in:  {values(g.inputs)}")
            lines.append(f"  out: {values(g.outputs)}")
        return "\n".join(lines) + "\n"


def _space_text(space: Space) -> str:
    shape = f"[{','.join(str(d) for d in space.shape)}]"
    if space.kind == "reduction":
        return f"over {shape} axes {tuple(space.axes)}"
    return f"over {shape}"


# -- the partition -------------------------------------------------------------------------

@dataclass(eq=False)
class _Draft:
    key: int
    kind: str
    space: Space
    members: set[int] = field(default_factory=set)
    anchors: list[Node] = field(default_factory=list)
    placements: dict[int, Map] = field(default_factory=dict)


class _Partition:
    """Greedy, in graph order: anchors open groups, consumers join the group of an input
    where they may (epilogues), elementwise nodes join or open elementwise groups; then
    elementwise groups whose values all go to one other group become its producers."""

    def __init__(self, graph: Graph):
        self.nodes = graph.nodes
        self.producer = {n.out.id: i for i, n in enumerate(graph.nodes)}
        self.dataflow = graph.to_networkx()
        outs = [t for t in self.dataflow if isinstance(t, str) and t.startswith("out:")]
        live = set().union(*(nx.ancestors(self.dataflow, t) for t in outs)) if outs else set()
        self.live = {i for i in live if isinstance(i, int)}
        self.returned = {v.id for v in graph.outputs}
        self.recomputed: set[int] = set()
        made: set[int] = set()  # map-like nodes computed from constants alone
        for i, n in enumerate(graph.nodes):
            if is_anchor(n):
                continue
            sources = [self.producer.get(v.id) for v in n.inputs]
            if all(p in made for p in sources):
                made.add(i)
                self.recomputed.add(i)
            # cheap map-like ops of graph inputs (or of other recomputed values) alone are
            # recomputed in each kernel that reads them: a copy costs a write and a read
            # more than reading their inputs; scalars whatever they cost (once a program)
            elif (all(p is None or p in self.recomputed for p in sources)
                  and (n.prim.cheap or n.out.ndim == 0)):
                self.recomputed.add(i)
        self.owner: dict[int, _Draft] = {}
        self.drafts: dict[int, _Draft] = {}
        self.keys = itertools.count()
        self.quotient = nx.DiGraph()

    # -- bookkeeping -----------------------------------------------------------------------
    def _open(self, kind: str, space: Space) -> _Draft:
        d = _Draft(next(self.keys), kind, space)
        self.drafts[d.key] = d
        self.quotient.add_node(d.key)
        return d

    def _input_drafts(self, i: int) -> list[_Draft]:
        out = []
        for p in self.dataflow.predecessors(i):
            if isinstance(p, int) and p not in self.recomputed and self.owner[p] not in out:
                out.append(self.owner[p])
        return out

    def _add(self, d: _Draft, i: int, at: Map | None) -> None:
        d.members.add(i)
        self.owner[i] = d
        if at is not None:
            d.placements[self.nodes[i].out.id] = at
        for src in self._input_drafts(i):
            if src is not d:
                self.quotient.add_edge(src.key, d.key)

    def _joining_makes_cycle(self, d: _Draft, i: int) -> bool:
        return any(nx.has_path(self.quotient, d.key, src.key)
                   for src in self._input_drafts(i) if src is not d)

    def _merging_makes_cycle(self, a: _Draft, b: _Draft) -> bool:
        q = self.quotient
        return (any(nx.has_path(q, s, b.key) for s in q.successors(a.key) if s != b.key)
                or any(nx.has_path(q, s, a.key) for s in q.successors(b.key) if s != a.key))

    def _merge(self, src: _Draft, dst: _Draft, keep_placements: bool) -> None:
        for i in src.members:
            self.owner[i] = dst
        dst.members |= src.members
        if keep_placements:
            dst.placements.update(src.placements)
        nx.contracted_nodes(self.quotient, dst.key, src.key, self_loops=False, copy=False)
        del self.drafts[src.key]

    # -- legality --------------------------------------------------------------------------
    def _reads_ok(self, starts, members: set[int], registers: dict[int, Map]) -> bool:
        """Evaluating the (value, map) pairs `starts` in a kernel computing `members` reads
        every register at the map where the kernel holds it."""
        stack, seen = list(starts), set()
        while stack:
            v, at = stack.pop()
            if (v.id, at) in seen:
                continue
            seen.add((v.id, at))
            if v.id in registers:
                if at != registers[v.id]:
                    return False
                continue
            i = self.producer.get(v.id)
            if i is None or i in self.recomputed or i not in members:
                continue
            n = self.nodes[i]
            stack.extend(zip(n.inputs, index_rules[n.prim.name](n, at)))
        return True

    def _registers(self, d: _Draft) -> dict[int, Map]:
        return {a.out.id: d.placements[a.out.id] for a in d.anchors if a.prim.name != "scatter_add"}

    def _placement(self, d: _Draft, n: Node) -> Map | None:
        """Where `n` would be computed in `d`: from a placed input, else a span of its shape."""
        placed = [d.placements[v.id] for v in n.inputs if v.id in d.placements]
        name = n.prim.name
        if placed and n.prim.elementwise:
            return placed[0]
        if placed and name == "transpose":
            return tuple(placed[0][p] for p in n.params["permutation"])
        if placed and name == "reshape":
            pairs = squeezed_pairs(n.inputs[0].shape, n.out.shape)
            if pairs is not None:
                comps = [ZERO] * n.out.ndim
                for a, b in pairs:
                    comps[b] = placed[0][a]
                return tuple(comps)
        for shape, at in d.space.spans():
            if shape == tuple(n.out.shape):
                return at
        return None

    # -- phase 1: anchors, epilogues, elementwise chains -----------------------------------
    def _place_reduction(self, i: int, n: Node) -> None:
        (x,) = n.inputs
        axes = tuple(n.params["axes"])
        space = Space("reduction", tuple(x.shape), axes)
        near = self._input_drafts(i)
        others = [d for d in self.drafts.values() if d not in near]
        for d in near + others:  # rows of one shape share a kernel: one loop per reduction
            if (d.kind == "reduction" and d.space.shape == space.shape and d.space.axes == axes
                    and not self._joining_makes_cycle(d, i)
                    and self._reads_ok([(x, d.space.operand_map())], d.members | {i},
                                       self._registers(d))):
                d.anchors.append(n)
                self._add(d, i, d.space.row_map())
                return
        d = self._open("reduction", space)
        d.anchors.append(n)
        self._add(d, i, space.row_map())

    def _place_anchor(self, i: int, n: Node) -> None:
        if n.prim.reduction:
            self._place_reduction(i, n)
        elif n.prim.name == "dot_general":
            space = Space("matmul", tuple(n.out.shape), dot=n)
            d = self._open("matmul", space)
            d.anchors.append(n)
            self._add(d, i, space.spans()[0][1])
        else:
            d = self._open("scatter", Space("elementwise", tuple(n.inputs[0].shape)))
            d.anchors.append(n)
            self._add(d, i, None)

    def _place_map(self, i: int, n: Node) -> None:
        candidates = sorted(self._input_drafts(i), key=lambda d: d.space.kind == "elementwise")
        for d in candidates:
            if d.kind == "scatter":
                continue
            at = self._placement(d, n)
            if (at is None or self._joining_makes_cycle(d, i)
                    or not self._reads_ok([(n.out, at)], d.members | {i}, self._registers(d))):
                continue
            self._add(d, i, at)
            if d.space.kind == "elementwise":
                self._absorb_siblings(d, candidates)
            return
        space = Space("elementwise", tuple(n.out.shape))
        d = self._open("elementwise", space)
        self._add(d, i, space.spans()[0][1])

    def _absorb_siblings(self, d: _Draft, candidates: list[_Draft]) -> None:
        """Elementwise groups over the same shape feeding one node become one kernel."""
        for other in candidates:
            if (other is not d and other.key in self.drafts and other.kind == "elementwise"
                    and other.space.shape == d.space.shape
                    and not self._merging_makes_cycle(other, d)):
                self._merge(other, d, keep_placements=True)

    # -- phase 2: producers ----------------------------------------------------------------
    def _absorb_producers(self) -> None:
        """An elementwise group whose values all go to one other group is recomputed
        there (read by index maps) instead of being written to memory; what it returns
        to the caller is written by that group, where it computes that shape anyway."""
        for key in reversed(list(nx.topological_sort(self.quotient))):
            d = self.drafts[key]
            users = list(self.quotient.successors(key))
            if d.kind != "elementwise" or len(users) != 1:
                continue
            host = self.drafts[users[0]]
            placements = {}
            if any(self.nodes[i].out.id in self.returned for i in d.members):
                span = [at for shape, at in host.space.spans() if shape == tuple(d.space.shape)]
                if not span:
                    continue
                names = {f"s{k}": ix for k, ix in enumerate(span[0])}
                placements = {vid: rename(at, names) for vid, at in d.placements.items()}
            self._merge(d, host, keep_placements=False)
            host.placements.update(placements)

    # -- the result ------------------------------------------------------------------------
    def run(self) -> list[Group]:
        for i, n in enumerate(self.nodes):
            if i not in self.live or (i in self.recomputed and n.out.id not in self.returned):
                continue
            if is_anchor(n):
                self._place_anchor(i, n)
            else:
                self._place_map(i, n)
        self._absorb_producers()
        first = {d.key: min(d.members) for d in self.drafts.values()}
        order = nx.lexicographical_topological_sort(self.quotient, key=lambda k: first[k])
        return [self._group(k, self.drafts[key]) for k, key in enumerate(order)]

    def _with_recomputed(self, members: set[int]) -> list[int]:
        out, stack = set(members), list(members)
        while stack:
            for v in self.nodes[stack.pop()].inputs:
                p = self.producer.get(v.id)
                if p is not None and p in self.recomputed and p not in out:
                    out.add(p)
                    stack.append(p)
        return sorted(out)

    def _group(self, gid: int, d: _Draft) -> Group:
        members = self._with_recomputed(d.members)
        inside = set(members)
        inputs: list[Value] = []
        for i in members:
            for v in self.nodes[i].inputs:
                p = self.producer.get(v.id)
                if (p is None or p not in inside) and all(v is not w for w in inputs):
                    inputs.append(v)
        outputs = []
        for i in sorted(d.members):
            v = self.nodes[i].out
            used_outside = any(isinstance(u, int) and u in self.live and u not in inside
                               for u in self.dataflow.successors(i))
            if v.id in self.returned or used_outside:
                outputs.append(v)
        kind = d.kind
        if kind == "elementwise" and any(self.nodes[i].prim.name == "gather" for i in members):
            kind = "gather"
        return Group(gid, kind, [self.nodes[i] for i in members], inputs, outputs, d.space,
                     list(d.anchors), dict(d.placements))


def partition(graph: Graph) -> Fusion:
    """The kernels of `graph`, in an order in which they can run."""
    parts = _Partition(graph)
    groups = parts.run()
    return Fusion(graph, groups, {graph.nodes[i].out.id for i in parts.recomputed})
