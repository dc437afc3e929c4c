"""The numpy backend's function writer: an optimised graph becomes the source of one
readable Python function.

The generated function checks its arguments and binds the symbolic dims
(`codegen.common.arguments`), then runs one statement per node, each written by the
node's entry in the lowering table (`rules`):

    def mlp_0(x_1, W1_2, b1_3):
        ...argument checks, binding b_4, d_5, h_6...
        t_7 = x_1 @ W1_2  # f32[b_4,h_6]
        t_8 = b1_3  # f32[b_4,h_6], broadcast by its users
        t_9 = t_7 + t_8  # f32[b_4,h_6]
        del t_7, t_8
        t_10 = np.float32(0.0)  # f32[]
        t_11 = t_10  # f32[b_4,h_6], broadcast by its users
        h1_12 = np.maximum(t_9, t_11)  # f32[b_4,h_6]
        del t_9, t_11
        return h1_12

That is the plain form; the backend's own rewrites then make a relu one `np.maximum`
(`fusion`), write results into dying inputs (`buffers`), and run such a chain of
row-local nodes as blocks of rows on every core (`blocks`).

Every identifier is minted by `naming.Minter`, so no text from a `.dd` file reaches the
source except as re-minted identifiers, numbers re-emitted from parsed values, and labels
in error messages emitted with `repr`. Helpers that take more than one numpy call live in
`runtime`, which exported modules embed verbatim.
"""
from __future__ import annotations

from dataclasses import dataclass

from ddc.errors import IRError
from ddc.ir import dims as D
from ddc.ir.core import Graph, Node, Value
from ddc.ir.verify import verify
from ddc.passes.optimize import optimize

from ..common.arguments import DimBinder, start_function
from ..common.naming import Minter
from . import runtime as numpy_runtime
from .arguments import dtype_ref, numpy_conversion
from .blocks import Region, find_regions, sliced
from .buffers import plan_buffers
from .fusion import BACKEND_PRIMITIVES, lower
from .rules import Site, numpy_rules, small, tuple_text, ufunc_call

@dataclass(frozen=True)
class Held:
    """Values numpy holds smaller than their type says."""

    broadcast: set[int]  # broadcasts left to their users' own broadcasting (`_users_broadcast`)
    scalar: set[int]  # values held as numpy scalars: 0-d ones, and such broadcasts of them


# -- the function --------------------------------------------------------------------------

def _users_broadcast(graph: Graph) -> set[int]:
    """The broadcast_in_dim results that numpy's own broadcasting can stand in for: not an
    output, and each user is elementwise with another operand that is no broadcast, so it
    has the full shape. `np.broadcast_to` costs microseconds; this is most bias adds."""
    producers, users = graph.producers(), graph.users()
    outputs = {v.id for v in graph.outputs}

    def full(v) -> bool:
        return v.id not in producers or producers[v.id].prim.name != "broadcast_in_dim"

    return {
        n.out.id for n in graph.nodes
        if n.prim.name == "broadcast_in_dim" and n.out.id not in outputs and users.get(n.out.id)
        and all(u.prim.elementwise and any(full(v) for v in u.inputs) for u in users[n.out.id])
    }


def _small(node: Node) -> bool:
    return small(node, numpy_runtime.SCALAR_MIN_SIZE)


def _writable_inputs(node: Node) -> list:
    """The inputs the node's lowering could write its result into (with `out=`)."""
    return numpy_rules[node.prim.name].writable(node)


def _statement(node: Node, names: dict[int, str], dims: DimBinder, held: Held,
               target: str | None = None, rows: str | None = None) -> str:
    """One node's line; `rows` inside a row block (no threads there: blocks have them)."""
    rule = numpy_rules.get(node.prim.name)
    if rule is None:
        raise IRError(f"the numpy backend has no rule for {node.prim.name}")
    site = Site(tuple(v.type for v in node.inputs), node.out.type, dims, node.out.id in held.broadcast, rows)
    args = [names[v.id] for v in node.inputs]
    threads = rows is None
    if rule.with_scalar and sum(v.id in held.scalar for v in node.inputs) == 1 and not _small(node):
        out = "" if target is None else f", out={target}"
        expr = f"with_scalar({rule.ufunc}, {', '.join(args)}{out})"
    elif target is not None:
        # a target is one of the rule's `writable` inputs, and a rule with any has `into`
        assert rule.into is not None, f"{node.prim.name} cannot write in place"
        expr = rule.into(node, args, target, threads)
    elif rule.threaded:
        expr = ufunc_call(rule, node, args, threads=threads)
    else:
        expr = rule.expr(site, *args, **node.params)
    kind = f"{node.out.dtype}[{','.join(dims.comment(d) for d in node.out.shape)}]"
    if site.users_broadcast:
        kind += ", broadcast by its users"
    return f"{names[node.out.id]} = {expr}  # {kind}"


def _return(graph: Graph, names: dict[int, str], bases: dict[int, object]) -> str:
    """Outputs are fresh arrays: copy an argument, a view of one, a broadcast, or a second
    output sharing memory with an earlier one; make numpy scalars 0-d arrays."""
    claimed: set = set()
    items = []
    for v in graph.outputs:
        base = bases[v.id]
        if base in ("argument", "broadcast") or base in claimed:
            items.append(f"np.array({names[v.id]})")
        else:
            claimed.add(base)
            items.append(f"np.asarray({names[v.id]})" if v.ndim == 0 else names[v.id])
    if len(items) == 1:
        return f"return {items[0]}"
    return f"return {', '.join(items)}" if items else "return ()"


def _region_lines(graph: Graph, region: Region, names: dict[int, str], mint: Minter,
                  dims: DimBinder, held: Held, blocks: list[str], checked) -> list[str]:
    """A row region as a block function over `[lo, hi)` rows (appended to `blocks`, defined
    beside the function), and the lines that run it.

    Inputs with the leading dim are sliced, others used whole; values used after the
    region are full arrays, allocated first, that each block writes its rows into."""
    fn, lo, hi, rows = mint("rows"), mint("lo"), mint("hi"), mint("n")
    local = dict(names)
    lines: list[str] = []
    nodes = [graph.nodes[i] for i in region.nodes]
    sub = Graph(list(region.inputs), nodes, list(region.outputs), graph.name)
    plan = plan_buffers(sub, _writable_inputs, region.donated)
    # by buffer (a donated input's is its own id; an output's may be None, not ours)
    donated: dict[int | None, Value] = {v.id: v for v in region.donated}
    in_place: set[int] = set()
    for v in region.outputs:
        # an output the blocks computed in place in a donated input's rows lives there
        names[v.id] = mint(v.name)
        home = donated.pop(plan.buffer[v.id], None)
        if home is not None and home.type == v.type:
            lines.append(f"{names[v.id]} = {names[home.id]}")
            in_place.add(v.id)
        else:
            lines.append(f"{names[v.id]} = np.empty({Site((), v.type, dims).shape(v.shape)}, "
                         f"{dtype_ref(v.dtype)})")
    inner = [f"{rows} = {hi} - {lo}"]
    dims.read = set()  # the dims the block's lines read
    for v in region.inputs:
        if sliced(v, region.rows):
            local[v.id] = mint(v.name)
            inner.append(f"{local[v.id]} = {names[v.id]}[{lo}:{hi}]")
    for k, node in enumerate(nodes):
        local[node.out.id] = mint(node.out.name)
        target = plan.overwrite.get(k)
        inner += checked(node, _statement(node, local, dims, held, None if target is None else local[target.id], rows), local,
                         region, lo)
        if k in plan.dying:
            inner.append("del " + ", ".join(local[v.id] for v in plan.dying[k]))
    inner += [f"{names[v.id]}[{lo}:{hi}] = {local[v.id]}" for v in region.outputs if v.id not in in_place]
    read, dims.read = dims.read, None
    row_sizes = sorted({dims.expr(D.product(n.out.shape[1:])) for n in nodes})
    row_size = row_sizes[0] if len(row_sizes) == 1 else f"max({', '.join(row_sizes)})"
    # The block is a function of its own that takes what it reads as arguments: nested in
    # the generated function, CPython's compiler would copy that function's names for each
    # block, which grows as the square of the program.
    # (what it reads: the values from outside, the arrays it writes rows of, the dims)
    free = sorted({names[v.id] for v in region.inputs}
                  | {names[v.id] for v in region.outputs if v.id not in in_place} | read,
                  key=lambda t: int(t.rsplit("_", 1)[1]))
    blocks.append(f"def {fn}({', '.join([lo, hi] + free)}):")
    blocks += [f"    {line}" for line in inner]
    blocks.append("")
    lines.append(f"run_rows({fn}, {dims.expr(region.rows)}, {row_size}, {tuple_text(free) if free else '()'})")
    return lines


def function_source(graph: Graph, name: str | None = None) -> str:
    """The Python source of one function computing `graph`, after the functions of its row
    blocks (if any); deterministic.

    Named `name` when given (the caller validates it), else a name minted from the graph's.
    """
    return function_code(graph, name)[0]


def function_code(graph: Graph, name: str | None = None) -> tuple[str, list]:
    """`function_source`, and the table of call-time checks its code refers to."""
    verify(graph)
    runs = lower(optimize(graph))
    verify(runs, BACKEND_PRIMITIVES)
    start = start_function(graph, numpy_conversion, name, runs=runs)
    graph = runs
    mint, dims, body, names = start.mint, start.dims, start.body, start.names
    computed = {id(n) for n in start.computed}

    def checked(node: Node, statement: str, local: dict[int, str], region=None, lo=None) -> list[str]:
        """The node's statement, after the check of its index where it is computed (in a
        row block, of the block's rows, which start at `lo`)."""
        if id(node) not in computed:
            return [statement]
        idx = node.index_input
        first_row = lo if region is not None and sliced(idx, region.rows) else None
        return [start.check_index(node, local[idx.id], first_row), statement]

    bases: dict[int, object] = {v.id: "argument" for v in graph.inputs}
    # keyed by the run's first node, which may be a broadcast made after the blocks: the
    # inputs of such a broadcast die after it, so the region's code must come first
    regions = {r.start: r for r in find_regions(graph)}
    blocks: list[str] = []  # the row blocks' functions, defined before this one
    sliced_inputs = {v.id for r in regions.values() for v in r.inputs if sliced(v, r.rows)}
    implicit = _users_broadcast(graph) - sliced_inputs
    scalars = {v.id for v in graph.inputs if v.ndim == 0} | {
        n.out.id for n in graph.nodes
        if n.out.ndim == 0 or n.out.id in implicit and n.inputs[0].ndim == 0}
    held = Held(implicit, scalars)
    inside_ids = {id(graph.nodes[i]) for r in regions.values() for i in r.nodes}
    # what a region makes, and the broadcasts it leaves to be made after it
    handled = inside_ids | {id(n) for r in regions.values() for n in r.recomputed}
    inside = {i for i, n in enumerate(graph.nodes) if id(n) in handled}
    plan = plan_buffers(graph, lambda n: [] if id(n) in inside_ids else _writable_inputs(n))
    dying = plan.dying
    for i, node in enumerate(graph.nodes):
        if i in regions:
            body += _region_lines(graph, regions[i], names, mint, dims, held, blocks, checked)
            for v in regions[i].outputs:
                bases[v.id] = v.id
            for n in regions[i].recomputed:
                names[n.out.id] = mint(n.out.name)
                body.append(_statement(n, names, dims, held))
                bases[n.out.id] = "broadcast"
        elif i not in inside:
            names[node.out.id] = mint(node.out.name)
            target = plan.overwrite.get(i)
            body += checked(node, _statement(node, names, dims, held, None if target is None else names[target.id]), names)
            if node.prim.view:
                bases[node.out.id] = bases[node.inputs[0].id]
            else:
                bases[node.out.id] = "broadcast" if node.prim.broadcast else node.out.id
        gone = [v for v in dying.get(i, ()) if v.id in names]
        if gone:
            body.append("del " + ", ".join(names[v.id] for v in gone))
    body.append(_return(graph, names, bases))
    lines = blocks + [f"def {start.name}({', '.join(start.params)}):"] + [f"    {line}" for line in body]
    return "\n".join(lines) + "\n", start.checks
