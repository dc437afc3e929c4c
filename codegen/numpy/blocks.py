"""Row blocks: runs of row-local nodes evaluated a block of rows at a time, on every core.

A softmax, a relu layer's mask, the cotangent of a cross-entropy: chains of elementwise
ops, row reductions and per-row picks over arrays that share their leading dim R. numpy
evaluates each node over the whole array, so every node is a pass over main memory, and
runs on one core. A *region* is a run of consecutive such nodes; the generated code runs
it as a function of a row range `[lo, hi)`, over blocks of rows sized to stay in cache,
and spreads the blocks over threads (numpy releases the GIL inside its loops).

A node is row-local when row r of its output depends only on row r of its inputs with
leading dim R (inputs without it are used whole, as numpy broadcasting would), and its
lowering mentions R only as the leading dim of a shape, which the block rewrites to the
block's row count. A region's inputs are sliced, so none may be a broadcast that numpy
holds smaller than its type (`numpy._users_broadcast` leaves those full).

Region outputs (values used after the region) are full arrays the blocks write into. An
input used only in the region that owns its buffer (a fresh result, not a view, with no
views taken of it, and read by no broadcast made again after the region) is *donated*: blocks may overwrite its rows in place, and an output
computed there needs no array of its own. Blocks are row-disjoint, so this is safe across
threads. Broadcasts of outside values that are also used later are made again after the
region rather than stored.
"""
from __future__ import annotations

from dataclasses import dataclass

from ddc.ir import dims as D
from ddc.ir.core import Graph, Node, Value

MIN_REGION = 3  # nodes, one at least on a matrix; smaller runs gain less than the loop costs
SMALL = 1 << 16  # elements: a region whose arrays are all known to be smaller is not blocked


@dataclass
class Region:
    rows: D.Dim  # the leading dim R shared by every value the region makes
    start: int  # the index of the run's first node: where the region's code goes
    nodes: list[int]  # indices into the graph's nodes, consecutive but for the broadcasts
    # only used after it (made once, after the blocks), which may come first
    inputs: list[Value]  # values from outside, in first-use order
    outputs: list[Value]  # values made here and used after (or returned)
    donated: list[Value]  # sliced inputs whose buffers the region may overwrite
    recomputed: list[Node]  # broadcasts of outside values also used after: made again there


def sliced(v: Value, rows: D.Dim) -> bool:
    """A region input taken a block at a time (else used whole)."""
    return v.ndim > 0 and v.shape[0] == rows


def _row_local(n: Node, rows) -> bool:
    out, name, p = n.out, n.prim.name, n.params
    if out.ndim == 0 or out.shape[0] != rows:
        return False
    if n.prim.elementwise:
        return True
    if name == "broadcast_in_dim":
        dims = p["broadcast_dimensions"]
        return 0 not in dims or (dims[0] == 0 and n.inputs[0].shape[0] in (rows, 1))
    if name == "reshape":
        return n.inputs[0].ndim > 0 and n.inputs[0].shape[0] == rows
    if name in ("reduce_sum", "reduce_max"):
        return 0 not in p["axes"]
    if name in ("gather", "scatter_add", "add_scatter"):
        return p["batch_dims"] >= 1
    if name == "iota":
        return p["dimension"] != 0
    if name == "dot_general":  # batched over the rows: row sums of products, say
        (lb, rb) = p["batch"]
        return lb[:1] == (0,) and rb[:1] == (0,)
    return False


def _worth_blocking(v: Value) -> bool:
    """A matrix (or more) not known to be small."""
    size = v.type.size()
    return v.ndim >= 2 and not (isinstance(size, int) and size < SMALL)


def find_regions(graph: Graph) -> list[Region]:
    uses = _Uses(graph)
    regions: list[Region] = []
    run: list[int] = []
    rows = None

    def close():
        if len(run) >= MIN_REGION and any(_worth_blocking(graph.nodes[i].out) for i in run):
            region = _region(graph, uses, rows, list(run))
            if region.nodes:  # else every node is a broadcast only used after the run
                regions.append(region)
        run.clear()

    for i, n in enumerate(graph.nodes):
        r = n.out.shape[0] if n.out.ndim else None
        if r is not None and r != 1 and _row_local(n, r):
            if run and r != rows:
                close()
            rows = r
            run.append(i)
        else:
            close()
    close()
    return regions


class _Uses:
    """Where each value is made and first and last used (outputs: used at the end)."""

    def __init__(self, graph: Graph):
        end = len(graph.nodes)
        self.producer = {n.out.id: n for n in graph.nodes}
        self.index = {n.out.id: i for i, n in enumerate(graph.nodes)}
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        for i, n in enumerate(graph.nodes):
            for v in n.inputs:
                self.first.setdefault(v.id, i)
                self.last[v.id] = i
        for v in graph.outputs:
            self.first.setdefault(v.id, end)
            self.last[v.id] = end


def _region(graph: Graph, uses: _Uses, rows: D.Dim, indices: list[int]) -> Region:
    start, stop = indices[0], indices[-1]
    made = {graph.nodes[i].out.id for i in indices}
    used_after = [graph.nodes[i] for i in indices if uses.last.get(graph.nodes[i].out.id, -1) > stop]
    recomputed, stored = _views_made_again(used_after, made, uses)
    outputs = [n.out for n in stored]
    # a broadcast only used after the region is made there alone, not in every block
    only_after = {n.out.id for n in recomputed if uses.first[n.out.id] > stop}
    indices = [i for i in indices if graph.nodes[i].out.id not in only_after]
    inputs, seen = [], set()
    for i in indices:
        for v in graph.nodes[i].inputs:
            if v.id not in made and v.id not in seen:
                seen.add(v.id)
                inputs.append(v)
    # used before the region means views of it may be alive; after, that it is still needed,
    # as it is by a broadcast made again after the region (which reads it there)
    read_after = {v.id for n in recomputed for v in n.inputs}
    donated = [v for v in inputs if sliced(v, rows) and uses.first[v.id] >= start
               and uses.last[v.id] <= stop and v.id not in read_after and v.id in uses.producer
               and not (uses.producer[v.id].prim.view or uses.producer[v.id].prim.broadcast)]
    return Region(rows, start, indices, inputs, outputs, donated, recomputed)


def _views_made_again(used_after: list[Node], made: set[int], uses: _Uses) -> tuple[list[Node], list[Node]]:
    """Split what the region leaves for later into broadcasts, made again after the region
    as views (a norm broadcast over a row is stored as the norm, not as a matrix), and
    the nodes whose values are stored: the rest, and what those broadcasts read from the
    region. Both in graph order (a broadcast after the one it reads)."""
    recomputed: dict[int, Node] = {}
    stored: dict[int, Node] = {}
    pending = list(used_after)
    while pending:
        n = pending.pop()
        if id(n) in recomputed or id(n) in stored:
            continue
        if n.prim.broadcast:
            recomputed[id(n)] = n
            pending += [uses.producer[v.id] for v in n.inputs if v.id in made]
        else:
            stored[id(n)] = n
    return (sorted(recomputed.values(), key=lambda n: uses.index[n.out.id]),
            sorted(stored.values(), key=lambda n: uses.index[n.out.id]))
